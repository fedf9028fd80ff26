// GET /users and the lists of /signup and /login come from each instance's rendered copy of the
// user list: it stays whole and shows every change at once — made through either surface, by
// another instance on the same database, or by SQL behind the service's back; ETag and
// If-None-Match; gzip, br and identity bodies of the same list.
import zlib from "node:zlib";
import t, { type Test } from "tap";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { MemoryPubSub } from "../../src/adapters/pubsub/memory.ts";
import { sharedDatabase, testApp } from "../helpers/app.ts";
import { multipart, png } from "../helpers/images.ts";
import { bearer, json, signup } from "../helpers/vapp.ts";

type VappUser = { id: string; name: string; display_name: string; image_url: string | null };

/** The list as the database has it now: every account with a username but the caller, oldest first. */
async function truth(app: FastifyInstance, callerId: string): Promise<VappUser[]> {
  const rows = await app.db.$queryRaw<{ id: string; username: string; display_name: string; image_key: string | null }[]>`
    SELECT id::text AS id, username, display_name, image_key FROM users WHERE username IS NOT NULL ORDER BY created_at, id`;
  return rows
    .filter((r) => `USR-${r.id}` !== callerId)
    .map((r) => ({ id: `USR-${r.id}`, name: r.username, display_name: r.display_name, image_url: r.image_key ? `http://media.test/media/${r.image_key}` : null }));
}

const list = (app: FastifyInstance, token: string, headers: Record<string, string> = {}) =>
  app.inject({ method: "GET", url: "/users", headers: { ...bearer(token), ...headers } });

/** The body as sent, decoded from its Content-Encoding. */
function decoded(res: LightMyRequestResponse): Buffer {
  const encoding = res.headers["content-encoding"];
  if (encoding === "gzip") return zlib.gunzipSync(res.rawPayload);
  if (encoding === "br") return zlib.brotliDecompressSync(res.rawPayload);
  if (encoding === "deflate") return zlib.inflateSync(res.rawPayload);
  t.equal(encoding, undefined, "no other encoding");
  return res.rawPayload;
}

/** Every caller's GET /users equals the database's list. */
async function whole(t: Test, app: FastifyInstance, callers: { id: string; token: string }[], what: string) {
  for (const c of callers) {
    const res = await list(app, c.token);
    t.equal(res.statusCode, 200);
    t.same(res.json(), await truth(app, c.id), `${what} (as ${c.id.slice(-6)})`);
  }
}

const caller = (s: { user: { id: string }; token: string }) => ({ id: s.user.id, token: s.token });

t.test("every kind of change shows in the list at once, and nothing else changes its ETag", async (t) => {
  const { app } = await testApp(t);
  const ann = caller(await signup(app, "ann"));
  const bob = caller(await signup(app, "bob"));
  await whole(t, app, [ann, bob], "after signups");

  const etag = async () => (await list(app, ann.token)).headers.etag;
  let before = await etag();

  // A V-app picture.
  const image = await multipart([{ name: "image", data: png(), filename: "a.png", type: "image/png" }]);
  t.equal((await app.inject({ method: "POST", url: "/users/image", ...image, headers: { ...image.headers, ...bearer(bob.token) } })).statusCode, 200);
  await whole(t, app, [ann, bob], "after a V-app picture");
  t.not(await etag(), before, "a new picture is a new ETag");

  // A v1 account without a username is not listed; with one, it is.
  before = await etag();
  const reg = await app.inject({ method: "POST", url: "/v1/auth/register", headers: json, payload: { email: "vera@example.com", password: "password one", display_name: "Vera" } });
  t.equal(reg.statusCode, 201);
  const vera = reg.json().access_token as string;
  t.equal(await etag(), before, "an account without a username leaves the list and its ETag as they were");
  const patch = (payload: Record<string, unknown>) =>
    app.inject({ method: "PATCH", url: "/v1/users/me", headers: { ...json, ...bearer(vera) }, payload: JSON.stringify(payload) });
  t.equal((await patch({ bio: "hello" })).statusCode, 200);
  t.equal(await etag(), before, "a bio is not in the list");
  t.equal((await patch({ username: "vera" })).statusCode, 200);
  await whole(t, app, [ann, bob], "after a v1 account takes a username");
  t.equal((await patch({ display_name: "Vera V." })).statusCode, 200);
  await whole(t, app, [ann, bob], "after a v1 display name change");
  t.equal((await patch({ username: "vera2" })).statusCode, 200);
  await whole(t, app, [ann, bob], "after a username change");
  const avatar = await multipart([{ name: "avatar", data: png(8, 8), filename: "me.png", type: "image/png" }]);
  t.equal((await app.inject({ method: "PUT", url: "/v1/users/me/avatar", payload: avatar.payload, headers: { ...avatar.headers, ...bearer(vera) } })).statusCode, 200);
  await whole(t, app, [ann, bob], "after a v1 avatar");

  // Behind the service's back: SQL and the ORM, as an operator or a script would.
  before = await etag();
  await app.db.$executeRaw`UPDATE users SET role = 'host', password_hash = 'x', bio = 'b' WHERE username = 'ann'`;
  t.equal(await etag(), before, "role, password and bio are not in the list");
  await app.db.$executeRaw`UPDATE users SET display_name = 'Bobby' WHERE username = 'bob'`;
  await whole(t, app, [ann, bob], "after a display name set by SQL");
  await app.db.$executeRaw`INSERT INTO users (id, username, display_name, password_hash, created_at, updated_at)
    VALUES (gen_random_uuid(), 'sql-sam', 'Sam', '-', now() - interval '1 day', now())`;
  await whole(t, app, [ann, bob], "after a user inserted by SQL (older than everyone: first)");
  await app.db.$executeRaw`UPDATE users SET image_key = NULL WHERE username = 'bob'`;
  await whole(t, app, [ann, bob], "after a picture removed by SQL");
  await app.db.user.delete({ where: { username: "vera2" } });
  await whole(t, app, [ann, bob], "after a deletion");

  // /signup and /login carry the same list as GET /users.
  const cy = await signup(app, "cyd");
  t.same(cy.users, await truth(app, cy.user.id), "signup's list");
  const login = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "bob", password: "correct horse" } });
  t.same(login.json().users, (await list(app, bob.token)).json(), "login's list is GET /users'");
  t.same(Object.keys(login.json()), ["user", "token", "users"]);
});

async function twoInstances(t: Test, shared: { pubsub?: MemoryPubSub }) {
  const { database, dataDir, databaseUrl } = await sharedDatabase(t, "vidivo-list-");
  const opts = { dataDir, ...(databaseUrl ? { databaseUrl } : {}), overrides: { database, ...shared, tickIntervalMs: 0 } };
  const { app: a } = await testApp(t, opts);
  const { app: b } = await testApp(t, opts);
  return { a, b };
}

for (const [name, shared] of [
  ["without pub/sub: the version alone", {}],
  ["with pub/sub notices", { pubsub: new MemoryPubSub() }],
] as const) {
  t.test(`two instances on one database never serve a list older than a finished change (${name})`, async (t) => {
    const { a, b } = await twoInstances(t, { ...shared });
    const ann = caller(await signup(a, "ann"));
    await whole(t, a, [ann], "A renders its list");
    await whole(t, b, [ann], "B renders its list");

    const bob = caller(await signup(b, "bob"));
    await whole(t, a, [ann, bob], "A, after a signup on B");
    const image = await multipart([{ name: "image", data: png(), filename: "a.png", type: "image/png" }]);
    await b.inject({ method: "POST", url: "/users/image", ...image, headers: { ...image.headers, ...bearer(bob.token) } });
    await whole(t, a, [ann, bob], "A, after a picture set on B");
    const etag = (await list(a, ann.token)).headers.etag as string;
    await b.db.$executeRaw`UPDATE users SET display_name = 'Annie' WHERE username = 'ann'`;
    const res = await list(a, bob.token, { "if-none-match": etag });
    t.equal(res.statusCode, 200);
    await whole(t, a, [ann, bob], "A, after SQL through B's connection");
    const again = await list(a, ann.token, { "if-none-match": etag });
    t.equal(again.statusCode, 200, "A's old ETag no longer matches");
    t.not(again.headers.etag, etag);
    t.equal((await list(b, ann.token, { "if-none-match": again.headers.etag as string })).statusCode, 304, "both instances give one list one ETag");
  });
}

t.test("ETag and If-None-Match", async (t) => {
  const { app } = await testApp(t);
  const ann = caller(await signup(app, "ann"));
  const bob = caller(await signup(app, "bob"));

  const first = await list(app, ann.token);
  t.equal(first.statusCode, 200);
  const etag = first.headers.etag as string;
  t.match(etag, /^W\/"\d+-[A-Za-z0-9_-]+"$/);
  t.not((await list(app, bob.token)).headers.etag, etag, "each caller's list has its own ETag");
  t.same((await list(app, ann.token)).headers.etag, etag, "the same list, the same ETag");

  for (const inm of [etag, etag.slice(2), `"nope", ${etag}`, "*"]) {
    const res = await list(app, ann.token, { "if-none-match": inm });
    t.equal(res.statusCode, 304, `If-None-Match: ${inm}`);
    t.equal(res.rawPayload.length, 0, "no body");
    t.equal(res.headers.etag, etag);
    t.ok(res.headers["x-request-id"]);
  }
  t.equal((await list(app, ann.token, { "if-none-match": `W/"1-other"` })).statusCode, 200, "another ETag: the list");
  t.equal((await list(app, bob.token, { "if-none-match": etag })).statusCode, 200, "another caller's ETag: the list");

  await signup(app, "cyd");
  const changed = await list(app, ann.token, { "if-none-match": etag });
  t.equal(changed.statusCode, 200, "after a change the old ETag is stale");
  t.not(changed.headers.etag, etag);
  t.same(changed.json(), await truth(app, ann.id));
  t.equal((await list(app, ann.token, { "if-none-match": changed.headers.etag as string })).statusCode, 304);

  const session = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "ann", password: "correct horse" } });
  t.equal(session.headers.etag, undefined, "login answers carry no ETag (each has a new token)");
});

t.test("gzip, br and identity bodies are the same list for every caller", async (t) => {
  const { app } = await testApp(t);
  // 300 users (about 40 KB, several segments), inserted in one statement.
  await app.db.$executeRaw`INSERT INTO users (id, username, display_name, password_hash, image_key, created_at, updated_at)
    SELECT gen_random_uuid(), 'user-' || i, 'User ' || i || ' ✓', '-', CASE WHEN i % 3 = 0 THEN 'pic-' || i || '.png' END,
           now() - interval '1 hour' + i * interval '1 ms', now()
    FROM generate_series(1, 300) AS i`;
  const ids = (await truth(app, "")).map((u) => u.id);
  const tokenOf = (index: number) => app.tokens.vapp({ id: ids[index]!.slice(4), username: `user-${index + 1}` });

  for (const index of [0, 1, 126, 127, 128, 129, 255, 256, 298, 299]) {
    const token = tokenOf(index);
    const identity = await list(app, token);
    t.equal(identity.headers["content-encoding"], undefined, "no Accept-Encoding: identity");
    t.same(identity.json(), await truth(app, ids[index]!), `user ${index}: the list`);
    for (const accept of ["gzip", "gzip, deflate, br", "br", "br;q=1, gzip;q=0", "deflate", "x-gzip", "*"]) {
      const res = await list(app, token, { "accept-encoding": accept });
      t.equal(res.statusCode, 200);
      t.ok(String(res.headers.vary).includes("accept-encoding"), "Vary: accept-encoding");
      t.ok(res.headers["content-encoding"], `Accept-Encoding: ${accept} → ${res.headers["content-encoding"]}`);
      t.ok(decoded(res).equals(identity.rawPayload), `user ${index}, ${accept}: the same bytes`);
    }
  }
  t.equal((await list(app, tokenOf(5), { "accept-encoding": "gzip;q=0, br;q=0" })).headers["content-encoding"], undefined);
  t.equal((await list(app, tokenOf(5), { "accept-encoding": "identity" })).headers["content-encoding"], undefined);
  t.equal((await list(app, tokenOf(5), { "accept-encoding": "gzip, br" })).headers["content-encoding"], "gzip", "gzip when accepted (kept compressed)");

  const cors = await list(app, tokenOf(7), { "accept-encoding": "gzip", origin: "https://app.example", "x-request-id": "req-7" });
  t.equal(cors.headers["x-request-id"], "req-7");
  t.equal(cors.headers["access-control-allow-origin"], "*");
});

t.test("compression: other routes, pictures and small answers", async (t) => {
  const { app } = await testApp(t);
  const ann = await signup(app, "ann");
  const gz = { "accept-encoding": "gzip, br" };

  const doc = await app.inject({ method: "GET", url: "/v1/openapi.json", headers: gz });
  t.equal(doc.headers["content-encoding"], "br", "a large answer is compressed, by the client's preference");
  t.same(JSON.parse(String(decoded(doc))), JSON.parse(app.openApiJson));
  t.equal((await app.inject({ method: "GET", url: "/v1/openapi.json" })).headers["content-encoding"], undefined, "not without Accept-Encoding");

  const image = await multipart([{ name: "image", data: png(64, 64), filename: "a.png", type: "image/png" }]);
  const up = await app.inject({ method: "POST", url: "/users/image", ...image, headers: { ...image.headers, ...gz, ...bearer(ann.token) } });
  t.equal(up.statusCode, 200, "an upload with Accept-Encoding");
  t.equal(up.headers["content-encoding"], undefined, "a small answer is sent as it is");
  const picture = await app.inject({ method: "GET", url: new URL(up.json().image_url).pathname, headers: gz });
  t.equal(picture.statusCode, 200);
  t.equal(picture.headers["content-encoding"], undefined, "pictures are sent as stored");
  t.equal(picture.headers["content-type"], "image/png");
  t.equal(Number(picture.headers["content-length"]), picture.rawPayload.length);

  const health = await app.inject({ method: "GET", url: "/health", headers: gz });
  t.same([health.headers["content-encoding"], health.json()], [undefined, { status: "ok" }]);
});
