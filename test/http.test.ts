// Cross-cutting HTTP behaviour: rate limits with their headers (docs/limits.md), CORS, request ids, unknown
// routes, and secrets kept out of the logs.
import t from "tap";
import { captureLogs, testApp } from "./helpers/app.ts";
import { bearer, json, signup } from "./helpers/vapp.ts";

const from = (ip: string) => ({ remoteAddress: ip });
const VAPP_RATE_LIMITED = {
  type: "rate:limited",
  title: "Too Many Requests",
  detail: "The request failed because too many requests were made; try again later",
};

t.test("login limit: the 6th attempt from one IP in 15 minutes is 429; another IP is unaffected", async (t) => {
  const { app, clock } = await testApp(t, {
    overrides: { rateLimits: { login: { max: 5, windowMs: 15 * 60_000 }, register: { max: 3, windowMs: 3600_000 } } },
  });
  await app.inject({ method: "POST", url: "/signup", headers: json, ...from("10.0.0.9"), payload: { name: "paul", password: "correct horse", display_name: "Paul" } });
  const login = (ip: string, url = "/login") =>
    app.inject({ method: "POST", url, headers: json, ...from(ip), payload: { name: "paul", password: "correct horse" } });

  const start = Math.floor(clock.now() / 1000);
  for (let i = 1; i <= 5; i++) {
    const res = await login("10.0.0.1", i === 3 ? "/token" : "/login");
    t.equal(res.statusCode, 200, `attempt ${i}`);
    t.equal(res.headers["x-ratelimit-limit"], "5");
    t.equal(res.headers["x-ratelimit-remaining"], String(5 - i));
    t.equal(Number(res.headers["x-ratelimit-reset"]), start + 900, "reset is a unix timestamp in seconds");
  }
  const limited = await login("10.0.0.1");
  t.equal(limited.statusCode, 429);
  t.same(limited.json(), VAPP_RATE_LIMITED);
  t.equal(limited.headers["x-ratelimit-limit"], "5");
  t.equal(limited.headers["x-ratelimit-remaining"], "0");
  t.equal(Number(limited.headers["x-ratelimit-reset"]), start + 900);
  t.equal(limited.headers["retry-after"], "900");
  t.equal((await login("10.0.0.1", "/token")).statusCode, 429, "/token shares the login budget");
  t.equal((await login("10.0.0.2")).statusCode, 200, "another IP still logs in");

  clock.advance(15 * 60_000);
  t.equal((await login("10.0.0.1")).statusCode, 200, "a new window opens after 15 minutes");
});

t.test("signup limit: 3 per hour per IP", async (t) => {
  const { app, clock } = await testApp(t, { overrides: { rateLimits: { register: { max: 3, windowMs: 3600_000 } } } });
  const signupFrom = (ip: string, name: string) =>
    app.inject({ method: "POST", url: "/signup", headers: json, ...from(ip), payload: { name, password: "password1", display_name: name } });
  const start = Math.floor(clock.now() / 1000);
  for (const name of ["one", "two", "three"]) t.equal((await signupFrom("10.1.1.1", name)).statusCode, 201);
  const fourth = await signupFrom("10.1.1.1", "four");
  t.equal(fourth.statusCode, 429);
  t.same(fourth.json(), VAPP_RATE_LIMITED);
  t.equal(fourth.headers["x-ratelimit-limit"], "3");
  t.equal(fourth.headers["x-ratelimit-remaining"], "0");
  t.equal(Number(fourth.headers["x-ratelimit-reset"]), start + 3600, "reset is a unix timestamp in seconds");
  t.equal(fourth.headers["retry-after"], "3600");
  t.equal(await app.db.user.count(), 3, "the limited signup created nothing");
  t.equal((await signupFrom("10.1.1.2", "four")).statusCode, 201);
});

t.test("per-user limit on authenticated V-app requests", async (t) => {
  const { app } = await testApp(t, { overrides: { rateLimits: { authenticated: { max: 3, windowMs: 60_000 } } } });
  const paul = await signup(app, "paul");
  const arden = await signup(app, "arden");
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ method: "GET", url: "/users", headers: bearer(paul.token) })).statusCode, 200);
  const res = await app.inject({ method: "GET", url: "/users", headers: bearer(paul.token) });
  t.equal(res.statusCode, 429);
  t.equal(res.json().type, "rate:limited");
  t.equal((await app.inject({ method: "GET", url: "/users", headers: bearer(arden.token) })).statusCode, 200, "another user is unaffected");
});

t.test("CORS: preflight from another origin succeeds on every V-app path", async (t) => {
  const { app } = await testApp(t);
  for (const [method, url] of [["POST", "/signup"], ["POST", "/login"], ["POST", "/token"], ["GET", "/users"], ["POST", "/users/image"], ["POST", "/image"], ["GET", "/v1/anything"]]) {
    const res = await app.inject({
      method: "OPTIONS",
      url: url!,
      headers: {
        origin: "https://web.example.org",
        "access-control-request-method": method!,
        "access-control-request-headers": "authorization,content-type,x-custom",
      },
    });
    t.equal(res.statusCode, 204, `${method} ${url}`);
    t.equal(res.headers["access-control-allow-origin"], "*");
    t.match(String(res.headers["access-control-allow-methods"]), method!);
    t.match(String(res.headers["access-control-allow-headers"]).toLowerCase(), /authorization.*content-type/);
  }
  const actual = await app.inject({ method: "POST", url: "/login", headers: { ...json, origin: "https://web.example.org" }, payload: {} });
  t.equal(actual.headers["access-control-allow-origin"], "*");
  t.match(String(actual.headers["access-control-expose-headers"]), /X-Request-ID.*X-RateLimit-Limit.*X-RateLimit-Remaining.*X-RateLimit-Reset.*Retry-After/);
});

t.test("X-Request-ID: the client's when valid, otherwise a new UUID", async (t) => {
  const { app } = await testApp(t);
  const mine = await app.inject({ method: "GET", url: "/health", headers: { "x-request-id": "trace-123:abc.DEF_x" } });
  t.equal(mine.headers["x-request-id"], "trace-123:abc.DEF_x");
  for (const bad of ["has space", "x".repeat(129), "semi;colon", ""]) {
    const res = await app.inject({ method: "GET", url: "/health", headers: { "x-request-id": bad } });
    t.match(res.headers["x-request-id"], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, JSON.stringify(bad).slice(0, 20));
  }
  const err = await app.inject({ method: "POST", url: "/login", headers: json, payload: "{" });
  t.type(err.headers["x-request-id"], "string", "errors carry it too");
});

t.test("unknown paths are 404; a known path with another method is 405 with Allow, in its surface's format", async (t) => {
  const { app } = await testApp(t);
  const NOT_FOUND = { error: { code: "not_found", message: "The resource does not exist.", details: null } };
  for (const url of ["/nope", "/v1/does-not-exist", "/v1/links/a/b/c", `/v1/links/${"a".repeat(250)}`, `/media/${"c".repeat(300)}.png`, "/v1/%E0%A4%A"]) {
    const res = await app.inject({ method: "GET", url, headers: { "x-request-id": "probe-1" } });
    t.equal(res.statusCode, 404, url.slice(0, 40));
    t.same(res.json(), NOT_FOUND);
    t.equal(res.headers.allow, undefined);
    t.equal(res.headers["x-request-id"], "probe-1");
  }
  const V1_405 = { error: { code: "method_not_allowed", message: "This method is not allowed on this resource.", details: null } };
  for (const [method, url, allow] of [
    ["PUT", "/v1/users/me", "DELETE, GET, HEAD, PATCH"],
    ["GET", "/v1/auth/login", "POST"],
    ["PUT", "/v1/links/01J0000000000000000000000A", "DELETE, GET, HEAD, PATCH"],
    ["POST", "/media/abc.png", "GET, HEAD"],
    ["POST", "/health?x=1", "GET, HEAD"],
  ] as const) {
    const res = await app.inject({ method, url });
    t.equal(res.statusCode, 405, `${method} ${url}`);
    t.same(res.json(), V1_405);
    t.equal(res.headers.allow, allow);
  }
  const VAPP_405 = { type: "request:methodnotallowed", title: "Method Not Allowed", detail: "The request failed because the method is not allowed on this resource" };
  for (const [method, url, allow] of [
    ["DELETE", "/signup", "POST"],
    ["GET", "/image", "POST"],
    ["PUT", "/users", "GET, HEAD"],
  ] as const) {
    const res = await app.inject({ method, url });
    t.equal(res.statusCode, 405, `${method} ${url}`);
    t.same(res.json(), VAPP_405, "the V-app's own paths answer in its shape");
    t.equal(res.headers.allow, allow);
  }
  const VAPP_404 = { type: "data:notfound", title: "Not Found", detail: "The requested resource does not exist" };
  const vapp404 = await app.inject({ method: "GET", url: "/signup/extra", headers: { "x-request-id": "probe-2" } });
  t.equal(vapp404.statusCode, 404);
  t.same(vapp404.json(), VAPP_404, "under a V-app path: its shape");
  t.equal(vapp404.headers["x-request-id"], "probe-2");
  const asset = await app.inject({ method: "GET", url: "/docs/static/no-such-asset.js" });
  t.equal(asset.statusCode, 404, "a route of this method that finds nothing is a 404, not a 405");
  t.same(asset.json(), NOT_FOUND);
  const es = await app.inject({ method: "GET", url: "/nope", headers: { "accept-language": "es-MX,es;q=0.9,en;q=0.5" } });
  t.equal(es.headers["content-language"], "es");
  t.equal(es.json().error.message, "El recurso no existe.");
});

t.test("logs carry the request id and never a secret", async (t) => {
  const { lines, logStream } = captureLogs();
  const { app } = await testApp(t, { env: { LOG_LEVEL: "info" }, overrides: { logStream } });
  const paul = await signup(app, "paul");
  await app.inject({ method: "GET", url: "/users", headers: { ...bearer(paul.token), "x-request-id": "req-logs-1", cookie: "session=s3cr3t" } });
  await app.inject({ method: "GET", url: "/media/x.png?token=st_supersecret&other=1" });
  await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "paul", password: "correct horse" } });
  const all = lines.join("");
  t.ok(lines.some((l) => JSON.parse(l).request_id === "req-logs-1"), "the request id is on the request's lines");
  t.notOk(all.includes(paul.token), "no bearer token");
  t.notOk(all.includes("s3cr3t"), "no cookie");
  t.notOk(all.includes("st_supersecret"), "no ?token= value");
  t.notOk(all.includes("correct horse"), "no password");
  t.ok(all.includes("token=[Redacted]"), "the query value is replaced, the rest of the URL kept");
});

t.test("a secret-named field of anything logged is redacted, and the logged objects are left as they were", async (t) => {
  const { lines, logStream } = captureLogs();
  const { app } = await testApp(t, { env: { LOG_LEVEL: "info" }, overrides: { logStream } });
  const body = { name: "paul", password: "correct horse" };
  const err = Object.assign(new Error("provider said no", { cause: new Error("socket hang up") }), { token: "tok_secret", code: "card_declined" });
  app.log.info({ body, password: "top secret", note: "kept", headers: { authorization: "Bearer secret-token", "user-agent": "ua" } }, "a body");
  app.log.error({ err, turn: { username: "u", credential: "turn-secret" } }, "an error");
  const logged = lines.map((l) => JSON.parse(l) as Record<string, any>);
  const first = logged.find((l) => l.msg === "a body");
  const second = logged.find((l) => l.msg === "an error");
  t.same(first!.body, { name: "paul", password: "[Redacted]" });
  t.equal(first!.password, "[Redacted]");
  t.equal(first!.note, "kept");
  t.same(first!.headers, { authorization: "[Redacted]", "user-agent": "ua" });
  t.equal(second!.err.token, "[Redacted]");
  t.match(second!.err.message, /^provider said no/, "an error keeps its message and type");
  t.equal(second!.err.type, "Error");
  t.equal(second!.err.code, "card_declined");
  t.match(second!.err.stack, /provider said no/);
  t.match(second!.err.stack, /socket hang up/, "and its cause");
  t.same(second!.turn, { username: "u", credential: "[Redacted]" });
  t.notOk(lines.join("").includes("secret"), "no secret on any line");
  t.equal(body.password, "correct horse", "the caller's object is not changed");
  t.equal(err.token, "tok_secret");
});
