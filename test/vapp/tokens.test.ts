// The V-app token: an RS256 JWT verifiable with the JWKS, 1 hour, and the V-app's three token errors
// (docs/vapp.md, "Errors") for everything that is not a valid token of this surface.
import { createSign, generateKeyPairSync, createHmac } from "node:crypto";
import t from "tap";
import * as jose from "jose";
import { testApp } from "../helpers/app.ts";
import { BAD_TOKEN, MISSING_TOKEN, MISSING_USER_ID, bearer, signup } from "../helpers/vapp.ts";

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
function signRs256(header: object, payload: object, privateKey: string | import("node:crypto").KeyObject) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(privateKey).toString("base64url")}`;
}

t.test("the token verifies with the JWKS alone and lasts one hour", async (t) => {
  const { app, clock } = await testApp(t);
  const paul = await signup(app, "paul");
  const jwksRes = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  t.equal(jwksRes.statusCode, 200);
  const jwks = jose.createLocalJWKSet(jwksRes.json());
  const { payload, protectedHeader } = await jose.jwtVerify(paul.token, jwks, {
    algorithms: ["RS256"],
    currentDate: new Date(clock.now()),
  });
  t.equal(protectedHeader.alg, "RS256");
  t.type(protectedHeader.kid, "string");
  t.equal(payload.sub, "paul");
  t.equal(payload.user_id, paul.user.id);
  t.type(payload.jti, "string");
  t.equal(payload.exp! - payload.iat!, 3600);

  clock.advance(3599_000);
  t.equal((await app.inject({ method: "GET", url: "/users", headers: bearer(paul.token) })).statusCode, 200, "valid just before expiry");
  clock.advance(2_000);
  const expired = await app.inject({ method: "GET", url: "/users", headers: bearer(paul.token) });
  t.equal(expired.statusCode, 400);
  t.same(expired.json(), BAD_TOKEN, "an expired token is auth:badtoken");
});

t.test("forged, unsigned, other-algorithm, other-audience and garbled tokens are auth:badtoken", async (t) => {
  const { app } = await testApp(t);
  const paul = await signup(app, "paul");
  const [h, p] = paul.token.split(".") as [string, string, string];
  const header = JSON.parse(Buffer.from(h, "base64url").toString());
  const payload = JSON.parse(Buffer.from(p, "base64url").toString());
  const publicPem = app.keyring.current.publicKeyPem;
  const { privateKey: otherKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

  const hsInput = `${b64({ ...header, alg: "HS256" })}.${p}`;
  const tampered = { ...payload, user_id: "USR-00000000-0000-7000-8000-000000000000" };
  const v1Access = app.tokens.access({ id: "01a20241-a559-79db-805b-530d67b69e8d", role: "user" }).token;
  const cases: Record<string, string> = {
    "forged signature (another key)": signRs256(header, payload, otherKey),
    "tampered payload": `${h}.${b64(tampered)}.${paul.token.split(".")[2]}`,
    "HS256 signed with the public key": `${hsInput}.${createHmac("sha256", publicPem).update(hsInput).digest("base64url")}`,
    "alg none, no signature": `${b64({ alg: "none", typ: "JWT" })}.${p}.`,
    "signature stripped": `${h}.${p}.`,
    "unknown kid": signRs256({ ...header, kid: "nope" }, payload, otherKey),
    "v1 access token (other audience)": v1Access,
    "not a JWT": "hello",
    "two segments": `${h}.${p}`,
    "garbage base64": "a.b.c",
  };
  for (const [name, token] of Object.entries(cases)) {
    const res = await app.inject({ method: "GET", url: "/users", headers: bearer(token) });
    t.equal(res.statusCode, 400, name);
    t.same(res.json(), BAD_TOKEN, name);
  }
  for (const authorization of ["Basic abc", "Bearer", "Bearer  two spaces", paul.token]) {
    const res = await app.inject({ method: "GET", url: "/users", headers: { authorization } });
    t.same([res.statusCode, res.json()], [400, BAD_TOKEN], `Authorization: ${authorization.slice(0, 20)}`);
  }
});

t.test("missing token and missing user_id", async (t) => {
  const { app } = await testApp(t);
  const res = await app.inject({ method: "GET", url: "/users" });
  t.same([res.statusCode, res.json()], [400, MISSING_TOKEN]);
  for (const url of ["/users/image", "/image"]) {
    const r = await app.inject({ method: "POST", url });
    t.same([r.statusCode, r.json()], [400, MISSING_TOKEN], url);
  }
  // A correctly signed token of this surface without user_id: sign it with the service's own key.
  const key = app.keyring.current;
  const now = Math.floor(app.clock.now() / 1000);
  const token = signRs256(
    { alg: "RS256", typ: "JWT", kid: key.kid },
    { sub: "paul", aud: "vidivo:vapp", iss: app.config.publicUrl, iat: now, exp: now + 60, jti: "x" },
    key.privateKeyPem,
  );
  const noUser = await app.inject({ method: "GET", url: "/users", headers: bearer(token) });
  t.same([noUser.statusCode, noUser.json()], [400, MISSING_USER_ID]);
});

t.test("a token issued in the future (beyond 60 s of clock skew) is auth:badtoken", async (t) => {
  const { app, clock } = await testApp(t);
  const paul = await signup(app, "paul");
  // Correctly signed with the service's own current key: only iat differs from a real token.
  const key = app.keyring.current;
  const header = { alg: "RS256", typ: "JWT", kid: key.kid };
  const now = Math.floor(clock.now() / 1000);
  const claims = (iat: number) => ({ sub: "paul", user_id: paul.user.id, aud: "vidivo:vapp", iss: app.config.publicUrl, iat, exp: iat + 3600, jti: `j${iat}` });
  const users = (token: string) => app.inject({ method: "GET", url: "/users", headers: bearer(token) });

  for (const ahead of [61, 7200]) {
    const res = await users(signRs256(header, claims(now + ahead), key.privateKeyPem));
    t.same([res.statusCode, res.json()], [400, BAD_TOKEN], `iat ${ahead} s ahead of the server's clock`);
  }
  for (const ahead of [0, 60]) {
    const res = await users(signRs256(header, claims(now + ahead), key.privateKeyPem));
    t.same([res.statusCode, res.json()], [200, []], `iat ${ahead} s ahead: within the allowed clock skew`);
  }
  // Once the server's clock catches up, the same token is fine.
  const early = signRs256(header, claims(now + 7200), key.privateKeyPem);
  clock.advance(7200_000 - 60_000);
  t.same((await users(early)).statusCode, 200, "valid once iat is no more than 60 s ahead");
});
