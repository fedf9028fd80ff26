// V-app signup, login, token and users: the shapes and exact errors of docs/vapp.md, no side effects.
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { BAD_CREDENTIALS, VALIDATION, bearer, json, signup } from "../helpers/vapp.ts";

const USR = /^USR-[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

t.test("signup, login, token and users answer with the V-app's shapes", async (t) => {
  const { app } = await testApp(t);
  const arden = await signup(app, "arden");
  t.match(arden.user, { id: USR, name: "arden", display_name: "arden display", image_url: null });
  t.same(arden.users, [], "the first user sees nobody else");

  const res = await app.inject({ method: "POST", url: "/signup", headers: json, payload: { name: "paul", password: "password1", display_name: "Paul", extra: "ignored" } });
  t.equal(res.statusCode, 201);
  const paul = res.json();
  t.same(Object.keys(paul).sort(), ["token", "user", "users"]);
  t.same(paul.user, { id: paul.user.id, name: "paul", display_name: "Paul", image_url: null });
  t.same(paul.users, [arden.user], "users lists everyone else, the caller excluded");

  const login = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "arden", password: "correct horse" } });
  t.equal(login.statusCode, 200);
  t.same(login.json().user, arden.user);
  t.same(login.json().users, [paul.user]);
  t.type(login.json().token, "string");

  const token = await app.inject({ method: "POST", url: "/token", headers: json, payload: { name: "paul", password: "password1" } });
  t.equal(token.statusCode, 200);
  t.same(Object.keys(token.json()), ["token"]);

  const users = await app.inject({ method: "GET", url: "/users", headers: bearer(token.json().token) });
  t.equal(users.statusCode, 200);
  t.same(users.json(), [arden.user], "GET /users excludes the caller");

  const third = await signup(app, "carla");
  const later = await app.inject({ method: "GET", url: "/users", headers: bearer(third.token) });
  t.same(later.json().map((u: { name: string }) => u.name), ["arden", "paul"], "oldest first");
});

t.test("signup validation: order, first failure per field, exact bodies, nothing created", async (t) => {
  const { app } = await testApp(t);
  const cases: [unknown, { name: string; reason: string }[]][] = [
    [{}, [{ name: "name", reason: "must exist" }, { name: "password", reason: "must exist" }, { name: "display_name", reason: "must exist" }]],
    [{ name: "", password: "", display_name: "" }, [{ name: "name", reason: "must exist" }, { name: "password", reason: "must exist" }, { name: "display_name", reason: "must exist" }]],
    [{ name: 12, password: true, display_name: ["x"] }, [{ name: "name", reason: "must be a string" }, { name: "password", reason: "must be a string" }, { name: "display_name", reason: "must be a string" }]],
    [{ name: "pa", password: "short", display_name: "ab" }, [{ name: "name", reason: "must be longer than 2 characters" }, { name: "password", reason: "must be at least 8 characters" }, { name: "display_name", reason: "must be longer than 2 characters" }]],
    [{ name: "n".repeat(65), password: "p".repeat(257), display_name: "d".repeat(81) }, [{ name: "name", reason: "must be at most 64 characters" }, { name: "password", reason: "must be at most 256 characters" }, { name: "display_name", reason: "must be at most 80 characters" }]],
    [{ name: "okay", password: "password1" }, [{ name: "display_name", reason: "must exist" }]],
    [{ name: null, password: "password1", display_name: "fine" }, [{ name: "name", reason: "must exist" }]],
    [[1, 2, 3], [{ name: "name", reason: "must exist" }, { name: "password", reason: "must exist" }, { name: "display_name", reason: "must exist" }]],
    ["a string", [{ name: "name", reason: "must exist" }, { name: "password", reason: "must exist" }, { name: "display_name", reason: "must exist" }]],
  ];
  for (const [payload, invalid] of cases) {
    const res = await app.inject({ method: "POST", url: "/signup", headers: json, payload: JSON.stringify(payload) });
    t.equal(res.statusCode, 403, JSON.stringify(payload).slice(0, 60));
    t.same(res.json(), { ...VALIDATION, invalid_parameters: invalid });
  }
  t.equal(await app.db.user.count(), 0, "no failed signup created a user");
});

t.test("NUL and unpaired surrogates are refused as invalid strings, in field order, with no side effects", async (t) => {
  const { app } = await testApp(t);
  const invalid = (...fields: [string, string][]) => ({ ...VALIDATION, invalid_parameters: fields.map(([name, reason]) => ({ name, reason })) });
  // JSON.stringify writes NUL as \u0000 and a lone surrogate as \udXXX, so the server parses them back.
  const cases: [Record<string, unknown>, ReturnType<typeof invalid>][] = [
    [{ name: "ab\u0000c", password: "password1", display_name: "Paul" }, invalid(["name", "must be a valid string"])],
    [{ name: "paul", password: "pass\ud800word", display_name: "Paul" }, invalid(["password", "must be a valid string"])],
    [{ name: "paul", password: "password1", display_name: "\udc00Paul" }, invalid(["display_name", "must be a valid string"])],
    [{ name: "abc\ud83d", password: "password1", display_name: "Paul" }, invalid(["name", "must be a valid string"])],
    // Each field reports its first failure only: a short invalid string is invalid, not short.
    [
      { name: "\u0000", password: "\ud800", display_name: "ab" },
      invalid(["name", "must be a valid string"], ["password", "must be a valid string"], ["display_name", "must be longer than 2 characters"]),
    ],
    [{ name: 12, password: "\udfff\ud800", display_name: "x\u0000y" }, invalid(["name", "must be a string"], ["password", "must be a valid string"], ["display_name", "must be a valid string"])],
  ];
  for (const [payload, body] of cases) {
    const res = await app.inject({ method: "POST", url: "/signup", headers: json, payload: JSON.stringify(payload) });
    t.same([res.statusCode, res.json()], [403, body], `/signup ${JSON.stringify(payload)}`);
  }
  t.equal(await app.db.user.count(), 0, "nothing was created");

  // A well-formed surrogate pair (an emoji) is ordinary text.
  const emoji = await signup(app, "paul\u{1F600}");
  t.equal(emoji.user.name, "paul\u{1F600}");

  for (const url of ["/login", "/token"]) {
    const cases: [Record<string, unknown>, ReturnType<typeof invalid>][] = [
      [{ name: "pa\u0000ul", password: "correct horse" }, invalid(["name", "must be a valid string"])],
      [{ name: "paul\ud83d", password: "correct horse" }, invalid(["name", "must be a valid string"])],
      [{ name: "paul\u{1F600}", password: "correct\u0000horse" }, invalid(["password", "must be a valid string"])],
      [{ name: "\udc00", password: "\ud800" }, invalid(["name", "must be a valid string"], ["password", "must be a valid string"])],
    ];
    for (const [payload, body] of cases) {
      const res = await app.inject({ method: "POST", url, headers: json, payload: JSON.stringify(payload) });
      t.same([res.statusCode, res.json()], [403, body], `${url} ${JSON.stringify(payload)}`);
    }
  }
});

t.test("the limits accept exactly their bounds", async (t) => {
  const { app } = await testApp(t);
  const res = await app.inject({ method: "POST", url: "/signup", headers: json, payload: { name: "abc", password: "p".repeat(8), display_name: "d".repeat(80) } });
  t.equal(res.statusCode, 201);
  const long = await app.inject({ method: "POST", url: "/signup", headers: json, payload: { name: "n".repeat(64), password: "p".repeat(256), display_name: "abc" } });
  t.equal(long.statusCode, 201);
});

t.test("a duplicate name is 409 and names are case-sensitive", async (t) => {
  const { app } = await testApp(t);
  await signup(app, "paul");
  const dup = await app.inject({ method: "POST", url: "/signup", headers: json, payload: { name: "paul", password: "another pw", display_name: "Other" } });
  t.equal(dup.statusCode, 409);
  t.same(dup.json(), { ...VALIDATION, invalid_parameters: [{ name: "name", reason: "must be unique" }] });
  t.equal(await app.db.user.count(), 1);
  const other = await app.inject({ method: "POST", url: "/signup", headers: json, payload: { name: "Paul", password: "another pw", display_name: "Other" } });
  t.equal(other.statusCode, 201, "Paul is not paul");

  const racers = await Promise.all(
    [1, 2, 3].map(() => app.inject({ method: "POST", url: "/signup", headers: json, payload: { name: "racer", password: "password1", display_name: "Racer" } })),
  );
  t.same(racers.map((r) => r.statusCode).sort(), [201, 409, 409], "concurrent duplicates: one wins");
});

t.test("bad credentials: unknown name and wrong password look the same", async (t) => {
  const { app } = await testApp(t);
  await signup(app, "paul");
  for (const url of ["/login", "/token"]) {
    for (const payload of [{ name: "paul", password: "wrong password" }, { name: "nobody", password: "correct horse" }]) {
      const res = await app.inject({ method: "POST", url, headers: json, payload });
      t.equal(res.statusCode, 403, `${url} ${payload.name}`);
      t.same(res.json(), BAD_CREDENTIALS);
    }
    const missing = await app.inject({ method: "POST", url, headers: json, payload: { name: "paul" } });
    t.equal(missing.statusCode, 403);
    t.same(missing.json(), { ...VALIDATION, invalid_parameters: [{ name: "password", reason: "must exist" }] });
  }
});

t.test("content type, broken JSON and huge bodies", async (t) => {
  const { app } = await testApp(t);
  const allMissing = { ...VALIDATION, invalid_parameters: [{ name: "name", reason: "must exist" }, { name: "password", reason: "must exist" }, { name: "display_name", reason: "must exist" }] };
  const body = JSON.stringify({ name: "paul", password: "password1", display_name: "Paul" });

  const textPlain = await app.inject({ method: "POST", url: "/signup", headers: { "content-type": "text/plain" }, payload: body });
  t.equal(textPlain.statusCode, 403, "another content type counts as an empty body");
  t.same(textPlain.json(), allMissing);

  const form = await app.inject({ method: "POST", url: "/signup", headers: { "content-type": "application/x-www-form-urlencoded" }, payload: "name=paul" });
  t.same(form.json(), allMissing);

  const noType = await app.inject({ method: "POST", url: "/signup", payload: body, headers: { "content-type": "" } });
  t.equal(noType.statusCode, 403);

  const broken = await app.inject({ method: "POST", url: "/signup", headers: json, payload: '{"name": "paul", ' });
  t.equal(broken.statusCode, 403, "malformed JSON is the V-app's validation error");
  t.same(broken.json(), allMissing);

  const huge = await app.inject({ method: "POST", url: "/signup", headers: json, payload: JSON.stringify({ name: "x".repeat(1024 * 1024 + 10) }) });
  t.equal(huge.statusCode, 413);
  t.same(huge.json(), { type: "data:validation", title: "Payload Too Large", detail: "The request failed because it is too large", invalid_parameters: [] });
  t.equal(await app.db.user.count(), 0, "nothing was written");
});

t.test("a deleted user's token is refused with auth:unauthorized", async (t) => {
  const { app } = await testApp(t);
  const paul = await signup(app, "paul");
  await app.db.user.deleteMany({});
  const res = await app.inject({ method: "GET", url: "/users", headers: bearer(paul.token) });
  t.equal(res.statusCode, 403);
  t.same(res.json(), BAD_CREDENTIALS);
});

t.test("a password hashed with older parameters is rehashed at login", async (t) => {
  const { app } = await testApp(t);
  await signup(app, "paul");
  const old = (await app.db.user.findFirstOrThrow()).passwordHash;
  t.match(old, /^\$argon2id\$v=19\$m=1024,p=1,t=1\$/);
  // The same database, opened by an app configured with stronger parameters.
  const { app: stronger } = await testApp(t, {
    env: { ARGON2_MEMORY_KIB: "2048", ARGON2_TIME_COST: "2" },
    databaseUrl: app.config.databaseUrl,
    dataDir: app.config.databaseUrl ? undefined : app.config.dataDir,
  });
  if (!app.config.databaseUrl) await app.close(); // PGlite: one process per data directory
  const res = await stronger.inject({ method: "POST", url: "/login", headers: json, payload: { name: "paul", password: "correct horse" } });
  t.equal(res.statusCode, 200);
  t.match((await stronger.db.user.findFirstOrThrow()).passwordHash, /^\$argon2id\$v=19\$m=2048,p=1,t=2\$/);
});
