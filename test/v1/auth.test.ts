// v1 register, login, refresh rotation and theft detection, logout, guests.
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { bearer, errorBody, login, PASSWORD, post, register } from "../helpers/v1.ts";

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const RT = /^rt_[A-Za-z0-9_-]{43}$/;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const UNAUTHORIZED = errorBody("unauthorized", "Authentication is required or the token is invalid.");

// One app (one fresh database) for the file; each test uses its own accounts.
const { app, clock } = await testApp(t);

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString());

t.test("register and login", async (t) => {
  const res = await post(app, "/v1/auth/register", { email: "  Ann.Lee@Example.COM ", password: PASSWORD, display_name: "Ann Lee" });
  t.equal(res.statusCode, 201);
  const s = res.json();
  t.same(Object.keys(s).sort(), ["access_token", "expires_in", "refresh_token", "user"]);
  t.same(s.user, { id: s.user.id, email: "Ann.Lee@Example.COM", display_name: "Ann Lee", role: "user", email_verified: false, created_at: new Date(clock.now()).toISOString() });
  t.match(s.user.id, ULID);
  t.match(s.refresh_token, RT);
  t.match(s.access_token, JWT);
  t.equal(s.expires_in, 900);
  const c = claims(s.access_token);
  t.same(Object.keys(c).sort(), ["aud", "auth_time", "exp", "iat", "iss", "jti", "role", "sub"]);
  t.match(c, { sub: s.user.id, role: "user", aud: "vidivo:v1", iss: "http://media.test" });
  t.equal(c.auth_time, c.iat, "auth_time: the sign-in, this one");
  t.equal(c.exp - c.iat, 900);
  t.equal(JSON.parse(Buffer.from(s.access_token.split(".")[0], "base64url").toString()).alg, "RS256");

  const defaultName = await register(app, "bob@example.com");
  t.equal(defaultName.user.display_name, "bob", "without display_name the e-mail's local part is used");

  for (const email of ["ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", " Ann.Lee@Example.COM"]) {
    const dup = await post(app, "/v1/auth/register", { email, password: PASSWORD });
    t.equal(dup.statusCode, 409, `duplicate ${email}`);
    t.same(dup.json(), errorBody("conflict", "The resource already exists or was changed.", { email: "is already registered" }));
  }
  t.equal(await app.db.user.count({ where: { emailKey: { contains: "lee" } } }), 1);

  const ok = await login(app, "  ANN.lee@example.com ");
  t.equal(ok.statusCode, 200, "login trims and ignores case");
  t.same(ok.json().user, s.user);
  t.not(ok.json().refresh_token, s.refresh_token);

  for (const [email, password] of [["ann.lee@example.com", "wrong password"], ["nobody@example.com", PASSWORD]] as const) {
    const bad = await login(app, email, password);
    t.equal(bad.statusCode, 401);
    t.same(bad.json(), errorBody("invalid_credentials", "The email or password is incorrect."));
  }

  const me = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(s.access_token) });
  t.equal(me.statusCode, 200);
  t.equal(me.json().id, s.user.id);
  t.equal(me.headers["x-ratelimit-limit"], "10000", "authenticated requests carry the rate-limit headers");

  clock.advance(15 * 60 * 1000);
  const expired = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(s.access_token) });
  t.equal(expired.statusCode, 401, "access tokens last 15 minutes");
  t.same(expired.json(), UNAUTHORIZED);
});

t.test("refresh rotation, reuse detection and logout", async (t) => {
  const s = await register(app, "carl@example.com");

  const r1 = await post(app, "/v1/auth/refresh", { refresh_token: s.refresh_token });
  t.equal(r1.statusCode, 200);
  t.same(Object.keys(r1.json()).sort(), ["access_token", "expires_in", "refresh_token"]);
  t.match(r1.json().refresh_token, RT);
  t.not(r1.json().refresh_token, s.refresh_token, "each refresh returns a new refresh token");
  t.equal(r1.json().expires_in, 900);
  const me = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(r1.json().access_token) });
  t.equal(me.statusCode, 200, "the new access token works");

  const r2 = await post(app, "/v1/auth/refresh", { refresh_token: r1.json().refresh_token });
  t.equal(r2.statusCode, 200);
  const newest = r2.json().refresh_token;

  const reuse = await post(app, "/v1/auth/refresh", { refresh_token: s.refresh_token });
  t.equal(reuse.statusCode, 401, "presenting a rotated token is refused");
  t.same(reuse.json(), UNAUTHORIZED);
  const afterTheft = await post(app, "/v1/auth/refresh", { refresh_token: newest });
  t.equal(afterTheft.statusCode, 401, "and the newest token of the family stops working too");

  // Another sign-in is another family: unaffected by the revoked one.
  const other = (await login(app, "carl@example.com")).json();
  const otherRefresh = await post(app, "/v1/auth/refresh", { refresh_token: other.refresh_token });
  t.equal(otherRefresh.statusCode, 200, "other families are untouched");

  const out = await post(app, "/v1/auth/logout", { refresh_token: otherRefresh.json().refresh_token });
  t.equal(out.statusCode, 204);
  t.equal(out.body, "");
  const afterLogout = await post(app, "/v1/auth/refresh", { refresh_token: otherRefresh.json().refresh_token });
  t.equal(afterLogout.statusCode, 401, "logout revokes the family");
  const again = await post(app, "/v1/auth/logout", { refresh_token: otherRefresh.json().refresh_token });
  t.equal(again.statusCode, 204, "logout is idempotent");
  const unknown = await post(app, "/v1/auth/logout", { refresh_token: "rt_unknown" });
  t.equal(unknown.statusCode, 204);

  for (const refresh_token of ["rt_unknown", "not even a token", `rt_${"A".repeat(43)}`]) {
    const res = await post(app, "/v1/auth/refresh", { refresh_token });
    t.equal(res.statusCode, 401, refresh_token);
    t.same(res.json(), UNAUTHORIZED);
  }

  // Tokens are stored hashed, never as given.
  const rows = await app.db.refreshToken.findMany();
  t.ok(rows.length >= 5);
  for (const row of rows) {
    t.match(row.tokenHash, /^[0-9a-f]{64}$/);
    t.not(row.tokenHash.includes("rt_"), true);
  }

  // 30 days: a token is still good just before, refused just after.
  const fresh = (await login(app, "carl@example.com")).json();
  clock.advance(30 * 24 * 3600 * 1000 - 1000);
  const late = await post(app, "/v1/auth/refresh", { refresh_token: fresh.refresh_token });
  t.equal(late.statusCode, 200, "valid until 30 days");
  const lateAccess = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(late.json().access_token) });
  t.equal(lateAccess.statusCode, 200);
  const stale = (await login(app, "carl@example.com")).json();
  clock.advance(30 * 24 * 3600 * 1000 + 1);
  const expired = await post(app, "/v1/auth/refresh", { refresh_token: stale.refresh_token });
  t.equal(expired.statusCode, 401, "expired after 30 days");
});

t.test("concurrent refreshes of one token: at most one wins, and the family is revoked", async (t) => {
  const s = await register(app, "dora@example.com");
  const results = await Promise.all([1, 2, 3].map(() => post(app, "/v1/auth/refresh", { refresh_token: s.refresh_token })));
  // Which presenter sees the reuse first depends on the database's interleaving: the one that
  // rotated may already find its family revoked (all three 401) or answer before that (one 200).
  const winners = results.filter((r) => r.statusCode === 200);
  t.ok(winners.length <= 1, "never two successors of one token");
  t.equal(results.filter((r) => r.statusCode === 401).length, 3 - winners.length, "every other presenter is refused");
  for (const w of winners) {
    const next = await post(app, "/v1/auth/refresh", { refresh_token: w.json().refresh_token });
    t.equal(next.statusCode, 401, "a replayed token in flight counts as theft: the successor is dead too");
  }
  const again = await post(app, "/v1/auth/refresh", { refresh_token: s.refresh_token });
  t.equal(again.statusCode, 401);
  const dora = await app.db.user.findFirstOrThrow({ where: { emailKey: "dora@example.com" } });
  t.equal(await app.db.refreshToken.count({ where: { userId: dora.id, revokedAt: null } }), 0, "no live token is left");
});

t.test("the new access token carries the current role", async (t) => {
  const s = await register(app, "emil@example.com");
  await app.db.user.updateMany({ where: { emailKey: "emil@example.com" }, data: { role: "host" } });
  const r = await post(app, "/v1/auth/refresh", { refresh_token: s.refresh_token });
  t.equal(claims(r.json().access_token).role, "host");
});

t.test("guests", async (t) => {
  const named = await post(app, "/v1/auth/guest", { display_name: "Visitor" });
  t.equal(named.statusCode, 201);
  const g = named.json();
  t.same(Object.keys(g).sort(), ["expires_in", "guest", "guest_token"]);
  t.same(g.guest, { id: g.guest.id, display_name: "Visitor", email: null });
  t.match(g.guest.id, ULID);
  t.equal(g.expires_in, 86400);
  const c = claims(g.guest_token);
  t.match(c, { sub: g.guest.id, role: "guest", aud: "vidivo:v1" });
  t.equal(c.exp - c.iat, 86400);

  const bare = await app.inject({ method: "POST", url: "/v1/auth/guest" });
  t.equal(bare.statusCode, 201, "the body is optional");
  t.equal(bare.json().guest.display_name, null);
  const empty = await post(app, "/v1/auth/guest", {});
  t.equal(empty.statusCode, 201);

  const withEmail = await post(app, "/v1/auth/guest", { email: " gina@example.com " }, { "accept-language": "es-MX" });
  t.same(withEmail.json().guest, { id: withEmail.json().guest.id, display_name: null, email: "gina@example.com" }, "an address for receipts, trimmed");
  for (const email of ["not an address", "", `${"a".repeat(250)}@x.io`, 42]) {
    const bad = await post(app, "/v1/auth/guest", { email });
    t.equal(bad.statusCode, 400, `email ${JSON.stringify(email).slice(0, 20)} is refused`);
    t.same(Object.keys(bad.json().error.details), ["email"]);
  }

  const rows = await app.db.guest.findMany({ orderBy: { createdAt: "asc" } });
  t.equal(rows.length, 4, "every guest is a row (none of the refused)");
  t.match(rows[3], { email: "gina@example.com", language: "es" }, "the guest's mails are in the request's language");
  t.equal(rows[0]!.displayName, "Visitor");
  t.equal(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime(), 86400 * 1000);

  const asUser = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(g.guest_token) });
  t.equal(asUser.statusCode, 401, "a guest token is not an access token");
  t.same(asUser.json(), UNAUTHORIZED);
});

t.test("GUEST_TOKEN_TTL_SECONDS configures the guest token", async (t) => {
  const { app } = await testApp(t, { env: { GUEST_TOKEN_TTL_SECONDS: "600" } });
  const g = (await post(app, "/v1/auth/guest", {})).json();
  t.equal(g.expires_in, 600);
  t.equal(claims(g.guest_token).exp - claims(g.guest_token).iat, 600);
});
