// Access tokens: verifiable by anyone with only the JWKS; every kind of forged, foreign or stale
// token is refused with 401; retired keys keep verifying while they are published.
import { createHmac, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { createLocalJWKSet, importPKCS8, jwtVerify, SignJWT, decodeProtectedHeader } from "jose";
import { testApp } from "../helpers/app.ts";
import { signup } from "../helpers/vapp.ts";
import { bearer, errorBody, login, register } from "../helpers/v1.ts";

const UNAUTHORIZED = errorBody("unauthorized", "Authentication is required or the token is invalid.");
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const parts = (jwt: string) => jwt.split(".") as [string, string, string];
const ISSUER = "http://media.test";

t.test("an access token verifies with the JWKS and an independent JOSE library", async (t) => {
  const { app, clock, dataDir } = await testApp(t);
  const s = await register(app, "ann@example.com");
  const jwksRes = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  t.equal(jwksRes.statusCode, 200);
  const jwks = jwksRes.json();
  t.equal(jwks.keys.length, 1);
  t.match(jwks.keys[0], { kty: "RSA", alg: "RS256", use: "sig" });
  t.notOk("d" in jwks.keys[0], "no private part is published");

  const { payload, protectedHeader } = await jwtVerify(s.access_token, createLocalJWKSet(jwks), {
    issuer: ISSUER,
    audience: "vidivo:v1",
    algorithms: ["RS256"],
    currentDate: new Date(clock.now()),
  });
  t.equal(protectedHeader.kid, jwks.keys[0].kid, "the header names the key");
  t.equal(payload.sub, s.user.id);
  t.equal(payload.role, "user");
  t.type(payload.jti, "string");

  // Forgeries and foreign tokens, each refused with the same 401.
  const [h, p, sig] = parts(s.access_token);
  const claims = JSON.parse(Buffer.from(p, "base64url").toString());
  const publicPem = createPublicPem(jwks.keys[0]);
  const hsHeader = b64({ alg: "HS256", typ: "JWT", kid: jwks.keys[0].kid });
  const hsBody = b64({ ...claims, role: "admin" });
  const hs256 = `${hsHeader}.${hsBody}.${createHmac("sha256", publicPem).update(`${hsHeader}.${hsBody}`).digest("base64url")}`;
  const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
  const tampered = `${h}.${b64({ ...claims, role: "admin" })}.${sig}`;
  const vapp = (await signup(app, "paul")).token;
  const guest = (await app.inject({ method: "POST", url: "/v1/auth/guest" })).json().guest_token;

  // Correctly signed with the service's own key, but for another audience or issuer.
  const key = await importPKCS8(readFileSync(path.join(dataDir, "keys", "dev-signing-key.pem"), "utf8"), "RS256");
  const signed = (aud: string, iss: string, exp = Math.floor(clock.now() / 1000) + 600) =>
    new SignJWT({ role: "admin", jti: "x" })
      .setProtectedHeader({ alg: "RS256", kid: jwks.keys[0].kid })
      .setSubject(s.user.id)
      .setAudience(aud)
      .setIssuer(iss)
      .setIssuedAt(Math.floor(clock.now() / 1000))
      .setExpirationTime(exp)
      .sign(key);
  const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const foreign = await new SignJWT({ role: "admin", jti: "x" })
    .setProtectedHeader({ alg: "RS256", kid: jwks.keys[0].kid })
    .setSubject(s.user.id).setAudience("vidivo:v1").setIssuer(ISSUER).setIssuedAt().setExpirationTime("10m")
    .sign(otherKey);

  const cases: [string, string][] = [
    ["HS256 signed with the public key", hs256],
    ["unsigned (alg none)", unsigned],
    ["tampered payload", tampered],
    ["a V-app token", vapp],
    ["a guest token", guest],
    ["another audience", await signed("vidivo:vapp", ISSUER)],
    ["another issuer", await signed("vidivo:v1", "https://evil.example")],
    ["signed by a key that is not ours", foreign],
    ["garbage", "not-a-token"],
    ["truncated", `${h}.${p}`],
  ];
  for (const [what, token] of cases) {
    const res = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(token) });
    t.equal(res.statusCode, 401, what);
    t.same(res.json(), UNAUTHORIZED, what);
  }
  for (const headers of [{}, { authorization: "Basic abc" }, { authorization: `bearer ${s.access_token}x` }, { authorization: "Bearer" }]) {
    const res = await app.inject({ method: "GET", url: "/v1/users/me", headers });
    t.equal(res.statusCode, 401, JSON.stringify(headers).slice(0, 40));
    t.same(res.json(), UNAUTHORIZED);
  }
  t.equal((await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(await signed("vidivo:v1", ISSUER)) })).statusCode, 200, "the control: a proper token passes");

  // The verifier keeps the claims of a token it checked: that token still expires on time.
  t.equal((await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(s.access_token) })).statusCode, 200, "the token passes before it expires");
  clock.advance(900 * 1000 + 1000);
  const expired = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(s.access_token) });
  t.equal(expired.statusCode, 401, "expired");
  t.same(expired.json(), UNAUTHORIZED);
  await t.rejects(
    jwtVerify(s.access_token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: "vidivo:v1", currentDate: new Date(clock.now()) }),
    "the independent library agrees it expired",
  );

  // A token whose account was deleted no longer works.
  const gone = await register(app, "gone@example.com");
  await app.db.user.delete({ where: { emailKey: "gone@example.com" } });
  const res = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(gone.access_token) });
  t.equal(res.statusCode, 401);
});

t.test("key rotation: a retired key keeps verifying while it is published", async (t) => {
  const first = await testApp(t);
  const old = await register(first.app, "ann@example.com");
  const oldKid = decodeProtectedHeader(old.access_token).kid;
  await first.app.close(); // PGlite: one process per data directory

  const keyDir = mkdtempSync(path.join(tmpdir(), "vidivo-keys-"));
  t.teardown(() => rmSync(keyDir, { recursive: true, force: true }));
  const newKeyFile = path.join(keyDir, "current.pem");
  writeFileSync(newKeyFile, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs8" }));
  const sameData = { databaseUrl: first.config.databaseUrl, dataDir: first.config.databaseUrl ? undefined : first.dataDir };

  const rotated = await testApp(t, { ...sameData, env: { JWT_PRIVATE_KEY_FILE: newKeyFile, JWT_KEYS_DIR: path.join(first.dataDir, "keys") } });
  rotated.clock.set(first.clock.now());
  const jwks = (await rotated.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json();
  t.equal(jwks.keys.length, 2, "the JWKS publishes the current and the retired key");
  t.ok(jwks.keys.some((k: { kid: string }) => k.kid === oldKid));
  const me = await rotated.app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(old.access_token) });
  t.equal(me.statusCode, 200, "a token signed by the retired key still verifies");
  const fresh = (await login(rotated.app, "ann@example.com")).json();
  const newKid = decodeProtectedHeader(fresh.access_token).kid;
  t.not(newKid, oldKid, "new tokens are signed with the new key");
  for (const token of [old.access_token, fresh.access_token]) {
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: "vidivo:v1", algorithms: ["RS256"], currentDate: new Date(rotated.clock.now()) });
    t.equal(payload.sub, old.user.id, "both verify with the published JWKS alone");
  }
  const refreshed = await rotated.app.inject({ method: "POST", url: "/v1/auth/refresh", headers: { "content-type": "application/json" }, payload: { refresh_token: old.refresh_token } });
  t.equal(refreshed.statusCode, 200, "refresh tokens survive a key rotation");
  const refreshedAt = rotated.clock.now();
  await rotated.app.close();

  const retiredGone = await testApp(t, { ...sameData, env: { JWT_PRIVATE_KEY_FILE: newKeyFile } });
  retiredGone.clock.set(refreshedAt);
  t.equal((await retiredGone.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json().keys.length, 1);
  const refused = await retiredGone.app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(old.access_token) });
  t.equal(refused.statusCode, 401, "once the retired key is withdrawn its tokens stop verifying");
  t.same(refused.json(), UNAUTHORIZED);
  const current = await retiredGone.app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(refreshed.json().access_token) });
  t.equal(current.statusCode, 200);
});

function createPublicPem(jwk: { n: string; e: string }): string {
  return createPublicKey({ key: { kty: "RSA", n: jwk.n, e: jwk.e }, format: "jwk" }).export({ format: "pem", type: "spki" }).toString();
}
