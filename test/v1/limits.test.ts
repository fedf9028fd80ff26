// Rate limits (docs/limits.md) on the v1 identity routes: per IP for login and register, per user
// for authenticated requests, with the X-RateLimit-* headers.
import t from "tap";
import { defaultRateLimits } from "../../src/config.ts";
import { relaxedLimits, testApp } from "../helpers/app.ts";
import { bearer, errorBody, json, PASSWORD, register } from "../helpers/v1.ts";

const { app, clock } = await testApp(t, {
  overrides: {
    rateLimits: {
      ...relaxedLimits,
      login: defaultRateLimits.login,
      register: defaultRateLimits.register,
      authenticated: defaultRateLimits.authenticated,
      anonymous: defaultRateLimits.anonymous,
      passwordReset: defaultRateLimits.passwordReset,
    },
  },
});
const RATE_LIMITED = errorBody("rate_limited", "Too many requests. Try again later.");
const nowSeconds = () => Math.floor(clock.now() / 1000);

t.test("the 6th login from one IP in 15 minutes gets 429 with the four headers", async (t) => {
  const attempt = (ip: string) =>
    app.inject({ method: "POST", url: "/v1/auth/login", remoteAddress: ip, headers: json, payload: { email: "x@example.com", password: "wrong password" } });
  const resetAt = nowSeconds() + 15 * 60;
  for (let i = 1; i <= 5; i++) {
    const res = await attempt("10.0.0.1");
    t.equal(res.statusCode, 401, `attempt ${i}`);
    t.equal(res.headers["x-ratelimit-limit"], "5");
    t.equal(res.headers["x-ratelimit-remaining"], String(5 - i));
    t.equal(res.headers["x-ratelimit-reset"], String(resetAt), "a unix timestamp in seconds");
  }
  const sixth = await attempt("10.0.0.1");
  t.equal(sixth.statusCode, 429);
  t.same(sixth.json(), RATE_LIMITED);
  t.equal(sixth.headers["x-ratelimit-limit"], "5");
  t.equal(sixth.headers["x-ratelimit-remaining"], "0");
  t.equal(sixth.headers["x-ratelimit-reset"], String(resetAt));
  t.equal(sixth.headers["retry-after"], String(15 * 60));
  t.equal((await attempt("10.0.0.2")).statusCode, 401, "another IP has its own budget");
  const vapp = await app.inject({ method: "POST", url: "/login", remoteAddress: "10.0.0.1", headers: json, payload: { name: "x", password: "wrong password" } });
  t.equal(vapp.statusCode, 429, "the V-app /login draws on the same budget");
  clock.advance(15 * 60 * 1000);
  t.equal((await attempt("10.0.0.1")).statusCode, 401, "a new window, a new budget");
});

t.test("the 4th register from one IP in an hour gets 429", async (t) => {
  const reg = (i: number) =>
    app.inject({ method: "POST", url: "/v1/auth/register", remoteAddress: "10.0.1.1", headers: json, payload: { email: `r${i}@example.com`, password: PASSWORD } });
  for (let i = 1; i <= 3; i++) t.equal((await reg(i)).statusCode, 201);
  const fourth = await reg(4);
  t.equal(fourth.statusCode, 429);
  t.same(fourth.json(), RATE_LIMITED);
  t.equal(fourth.headers["x-ratelimit-limit"], "3");
  t.equal(fourth.headers["x-ratelimit-remaining"], "0");
  t.equal(fourth.headers["x-ratelimit-reset"], String(nowSeconds() + 3600));
  t.equal(fourth.headers["retry-after"], "3600");
  t.equal(await app.db.user.count({ where: { emailKey: "r4@example.com" } }), 0, "nothing was created");
});

t.test("the 101st authenticated request in a minute by one user gets 429; another user is unaffected", async (t) => {
  const a = await app.inject({ method: "POST", url: "/v1/auth/register", remoteAddress: "10.0.2.1", headers: json, payload: { email: "a@example.com", password: PASSWORD } });
  const b = await app.inject({ method: "POST", url: "/v1/auth/register", remoteAddress: "10.0.2.1", headers: json, payload: { email: "b@example.com", password: PASSWORD } });
  const tokenA = a.json().access_token;
  const tokenB = b.json().access_token;
  const get = (token: string) => app.inject({ method: "GET", url: "/v1/users/me", remoteAddress: "10.0.2.1", headers: bearer(token) });
  for (let i = 1; i <= 100; i++) {
    const res = await get(tokenA);
    if (res.statusCode !== 200) t.fail(`request ${i}: ${res.statusCode}`);
    if (i === 100) t.equal(res.headers["x-ratelimit-remaining"], "0");
  }
  const over = await get(tokenA);
  t.equal(over.statusCode, 429);
  t.same(over.json(), RATE_LIMITED);
  t.equal(over.headers["x-ratelimit-limit"], "100");
  t.equal(over.headers["x-ratelimit-remaining"], "0");
  t.ok(Number(over.headers["x-ratelimit-reset"]) >= nowSeconds());
  t.ok(Number(over.headers["retry-after"]) > 0 && Number(over.headers["retry-after"]) <= 60);
  const other = await get(tokenB);
  t.equal(other.statusCode, 200, "another user from the same IP is unaffected");
  t.equal(other.headers["x-ratelimit-remaining"], "99");
  clock.advance(60 * 1000);
  t.equal((await get(tokenA)).statusCode, 200, "the next minute is a new budget");
  t.ok(register);
});

t.test("a refused token spends the per-IP budget of unauthenticated requests, with the headers", async (t) => {
  const forged = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
  const call = (i: number) =>
    app.inject({ method: i % 2 ? "GET" : "POST", url: i % 2 ? "/v1/users/me" : "/v1/calls/initiate", remoteAddress: "10.0.3.1", headers: { ...json, ...bearer(forged) }, payload: i % 2 ? undefined : {} });
  for (let i = 1; i <= 30; i++) {
    const res = await call(i);
    if (res.statusCode !== 401) t.fail(`request ${i}: ${res.statusCode}`);
    if (res.headers["x-ratelimit-remaining"] !== String(30 - i)) t.fail(`request ${i}: remaining ${res.headers["x-ratelimit-remaining"]}`);
  }
  const over = await call(31);
  t.equal(over.statusCode, 429, "the 31st is limited although no token was ever valid");
  t.same(over.json(), RATE_LIMITED);
  t.equal(over.headers["x-ratelimit-limit"], "30");
  t.ok(Number(over.headers["retry-after"]) > 0);
  const unknown = await app.inject({ method: "GET", url: "/v1/nothing-here", remoteAddress: "10.0.3.1" });
  t.equal(unknown.statusCode, 429, "unknown paths share that budget");
  const elsewhere = await app.inject({ method: "GET", url: "/v1/users/me", remoteAddress: "10.0.3.2", headers: bearer(forged) });
  t.equal(elsewhere.statusCode, 401, "another IP is unaffected");
  t.equal(elsewhere.headers["x-ratelimit-remaining"], "29");
});

t.test("requests a user sends with a bad body count against that user's budget", async (t) => {
  const res = await app.inject({ method: "POST", url: "/v1/auth/register", remoteAddress: "10.0.4.1", headers: json, payload: { email: "c@example.com", password: PASSWORD } });
  const token = res.json().access_token;
  const patch = (payload: string, type = "application/json") =>
    app.inject({ method: "PATCH", url: "/v1/users/me", remoteAddress: "10.0.4.1", headers: { ...bearer(token), "content-type": type }, payload });
  const broken = await patch("{");
  t.equal(broken.statusCode, 400);
  t.equal(broken.headers["x-ratelimit-remaining"], "99");
  const wrongType = await patch("display_name=x", "application/x-www-form-urlencoded");
  t.equal(wrongType.statusCode, 415);
  t.equal(wrongType.headers["x-ratelimit-remaining"], "98");
  const unknownField = await patch(JSON.stringify({ nickname: "x" }));
  t.equal(unknownField.statusCode, 400);
  t.equal(unknownField.headers["x-ratelimit-remaining"], "97");
});

t.test("the 11th password-reset request from one IP in an hour gets 429, known e-mail or not", async (t) => {
  const reset = (i: number, ip = "10.0.5.1") =>
    app.inject({ method: "POST", url: "/v1/auth/password/reset", remoteAddress: ip, headers: json, payload: { email: i % 2 ? "a@example.com" : `nobody${i}@example.com` } });
  for (let i = 1; i <= 10; i++) {
    const res = await reset(i);
    if (res.statusCode !== 202 || res.headers["x-ratelimit-remaining"] !== String(10 - i)) t.fail(`request ${i}: ${res.statusCode}`);
  }
  const over = await reset(11);
  t.equal(over.statusCode, 429);
  t.same(over.json(), RATE_LIMITED);
  t.equal(over.headers["x-ratelimit-limit"], "10");
  t.equal(over.headers["x-ratelimit-reset"], String(nowSeconds() + 3600));
  t.equal(over.headers["retry-after"], "3600");
  t.equal((await reset(12, "10.0.5.2")).statusCode, 202, "another IP has its own budget");
});

t.test("guests are limited per guest: the 101st request of one guest gets 429, another guest from the same IP is unaffected", async (t) => {
  const guest = async (ip: string) =>
    (await app.inject({ method: "POST", url: "/v1/auth/guest", remoteAddress: ip, headers: json, payload: {} })).json().guest_token as string;
  const a = await guest("10.0.6.1");
  const b = await guest("10.0.6.2");
  const list = (token: string) => app.inject({ method: "GET", url: "/v1/calls", remoteAddress: "10.0.6.9", headers: bearer(token) });
  for (let i = 1; i <= 100; i++) {
    const res = await list(a);
    if (res.statusCode !== 200) t.fail(`request ${i}: ${res.statusCode}`);
  }
  const over = await list(a);
  t.equal(over.statusCode, 429);
  t.same(over.json(), RATE_LIMITED);
  t.equal(over.headers["x-ratelimit-limit"], "100");
  const other = await list(b);
  t.equal(other.statusCode, 200, "another guest behind the same address has its own budget");
  t.equal(other.headers["x-ratelimit-remaining"], "99");
});
