// Vonage mode's session tokens (docs/vapp.md, "Vonage mode"): with a Vonage application configured,
// /signup, /login and /token answer the Vonage Client SDK's token, signed with the application's
// key and verifiable through the JWKS; the service checks it itself on /users, /users/image and
// /image with the V-app's three token errors, and it is never accepted on v1 (nor a v1 token here).
import { createHmac, createPrivateKey, createPublicKey, createSign, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import t from "tap";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type CryptoKey, type JWTVerifyResult } from "jose";
import { testApp } from "../helpers/app.ts";
import { vonageTestApp } from "../helpers/vonage-app.ts";
import { multipart, png } from "../helpers/images.ts";
import { BAD_TOKEN, MISSING_TOKEN, MISSING_USER_ID, bearer, json, signup } from "../helpers/vapp.ts";
import { errorBody, register } from "../helpers/v1.ts";

const APPLICATION_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
const ACL_PATHS = [
  "/*/rtc/**", "/*/users/**", "/*/conversations/**", "/*/sessions/**", "/*/devices/**", "/*/image/**",
  "/*/media/**", "/*/applications/**", "/*/push/**", "/*/knocking/**", "/*/legs/**",
];
const V1_UNAUTHORIZED = errorBody("unauthorized", "Authentication is required or the token is invalid.");

const rsaKey = () => generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
const pkcs8 = (key: KeyObject) => key.export({ format: "pem", type: "pkcs8" }).toString();
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
function signRs256(header: object, payload: object, key: KeyObject | string) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(key).toString("base64url")}`;
}

type Tap = Parameters<typeof testApp>[0];

/** A test app in Vonage mode (its Users API a local one), with the application's private key. */
async function vonageApp(t: Tap) {
  const app = await vonageTestApp(t, { applicationId: APPLICATION_ID });
  return { ...app, applicationKey: createPrivateKey(app.vonage.privateKeyPem) };
}

const users = (app: Awaited<ReturnType<typeof vonageApp>>["app"], token: string) => app.inject({ method: "GET", url: "/users", headers: bearer(token) });

t.test("signup, login and token answer the Client SDK's token, signed with the application's key", async (t) => {
  const { app, clock, applicationKey } = await vonageApp(t);
  const paul = await signup(app, "paul");
  const login = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "paul", password: "correct horse" } });
  const token = await app.inject({ method: "POST", url: "/token", headers: json, payload: { name: "paul", password: "correct horse" } });
  t.equal(login.statusCode, 200);
  t.equal(token.statusCode, 200);

  for (const [what, jwt] of [["signup", paul.token], ["login", login.json().token], ["token", token.json().token]] as const) {
    // As the Client SDK's backend would: the application's public key, RS256 only.
    const { payload, protectedHeader } = await jwtVerify(jwt, createPublicKey(applicationKey), { algorithms: ["RS256"], currentDate: new Date(clock.now()) });
    t.same(protectedHeader, { alg: "RS256", typ: "JWT" }, `${what}: Vonage's header, no kid`);
    t.same(Object.keys(payload).sort(), ["acl", "application_id", "exp", "iat", "jti", "sub", "user_id"], `${what}: Vonage's claims and user_id, nothing else`);
    t.equal(payload.application_id, APPLICATION_ID);
    t.equal(payload.sub, "paul");
    t.equal(payload.user_id, paul.user.id);
    t.match(payload.user_id, /^USR-[0-9a-f-]{36}$/);
    t.match(payload.jti, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "jti: a UUID");
    t.equal(payload.iat, Math.floor(clock.now() / 1000));
    t.equal(payload.exp! - payload.iat!, 3600);
    t.same(payload.acl, { paths: Object.fromEntries(ACL_PATHS.map((p) => [p, {}])) }, `${what}: the acl paths exactly`);
    t.notOk("aud" in payload || "iss" in payload, "no aud, no iss: Vonage's tokens have none");
  }
  t.not(paul.token, login.json().token, "a new token (jti) per sign-in");
  await t.rejects(
    jwtVerify(paul.token, createPublicKey(app.keyring.current.publicKeyPem), { algorithms: ["RS256"] }),
    "not signed with the service's own key",
  );
});

t.test("the JWKS publishes the application's key, which verifies the token", async (t) => {
  const { app, clock, applicationKey } = await vonageApp(t);
  const paul = await signup(app, "paul");
  const res = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  t.equal(res.statusCode, 200);
  const jwks = res.json() as { keys: { kid: string; n: string; e: string; kty: string; alg: string; use: string }[] };
  const { n, e } = createPublicKey(applicationKey).export({ format: "jwk" });
  t.same(jwks.keys.map((k) => k.kid)[0], app.keyring.current.kid, "the service's key first");
  t.equal(jwks.keys.length, 2);
  t.match(jwks.keys[1], { kty: "RSA", alg: "RS256", use: "sig", n, e }, "then the application's");
  t.notOk(JSON.stringify(jwks).includes('"d"'), "no private part is published");
  t.notOk(app.keyring.publicKeys.has(jwks.keys[1]!.kid), "the application's key never verifies the service's own tokens");

  // An outside verifier with only the JWKS: the token has no kid, so it tries each RS256 key of
  // the set (jose's documented way).
  t.equal(decodeProtectedHeader(paul.token).kid, undefined);
  const keySet = createLocalJWKSet(jwks);
  const options = { algorithms: ["RS256"], currentDate: new Date(clock.now()) };
  const verified: JWTVerifyResult = await jwtVerify(paul.token, keySet, options).catch(async (err: { code?: string } & AsyncIterable<CryptoKey>) => {
    if (err?.code !== "ERR_JWKS_MULTIPLE_MATCHING_KEYS") throw err;
    for await (const key of err) {
      try {
        return await jwtVerify(paul.token, key, options);
      } catch {
        continue;
      }
    }
    throw new Error("no key of the JWKS verifies the token");
  });
  t.equal(verified.payload.user_id, paul.user.id);
  t.equal(verified.payload.application_id, APPLICATION_ID);
});

t.test("the token opens /users, /users/image and /image, and lasts one hour", async (t) => {
  const { app, clock } = await vonageApp(t);
  const paul = await signup(app, "paul");
  await signup(app, "arden");
  const list = await users(app, paul.token);
  t.equal(list.statusCode, 200);
  t.same(list.json().map((u: { name: string }) => u.name), ["arden"]);
  for (const url of ["/users/image", "/image"]) {
    const body = await multipart([{ name: "image", data: png(2, 2), filename: "a.png", type: "image/png" }]);
    const res = await app.inject({ method: "POST", url, ...body, headers: { ...body.headers, ...bearer(paul.token) } });
    t.equal(res.statusCode, 200, url);
    t.match(res.json().image_url, /\.png$/, url);
  }

  clock.advance(3599_000);
  t.equal((await users(app, paul.token)).statusCode, 200, "valid just before expiry");
  clock.advance(2_000);
  for (const res of [
    await users(app, paul.token),
    await app.inject({ method: "POST", url: "/users/image", headers: bearer(paul.token) }),
    await app.inject({ method: "POST", url: "/image", headers: bearer(paul.token) }),
  ]) {
    t.same([res.statusCode, res.json()], [400, BAD_TOKEN], "expired: auth:badtoken");
  }
});

t.test("the seed's three token errors, and every token that is not the application's refused", async (t) => {
  const { app, clock, applicationKey } = await vonageApp(t);
  const paul = await signup(app, "paul");
  const now = Math.floor(clock.now() / 1000);
  const claims = { acl: { paths: { "/*/users/**": {} } }, sub: "paul", user_id: paul.user.id, jti: randomUUID(), iat: now, exp: now + 3600, application_id: APPLICATION_ID };
  const header = { alg: "RS256", typ: "JWT" };
  const publicPem = createPublicKey(applicationKey).export({ format: "pem", type: "spki" }).toString();
  const [h, p, sig] = paul.token.split(".") as [string, string, string];
  const hsInput = `${b64({ alg: "HS256", typ: "JWT" })}.${p}`;
  const { user_id: _, ...withoutUserId } = claims;

  t.equal((await users(app, signRs256(header, claims, applicationKey))).statusCode, 200, "the control: a token signed with the application's key passes");
  t.equal((await users(app, signRs256(header, { ...claims, iat: now + 60 }, applicationKey))).statusCode, 200, "iat within 60 s of clock skew");

  for (const url of ["/users", "/users/image", "/image"]) {
    const res = await app.inject({ method: url === "/users" ? "GET" : "POST", url });
    t.same([res.statusCode, res.json()], [400, MISSING_TOKEN], `${url}: no Authorization`);
  }
  const noUser = await users(app, signRs256(header, withoutUserId, applicationKey));
  t.same([noUser.statusCode, noUser.json()], [400, MISSING_USER_ID], "signed by the application, no user_id: auth:missinguserid");

  const serviceKey = app.keyring.current;
  const guest = await app.inject({ method: "POST", url: "/v1/auth/guest" });
  t.equal(guest.statusCode, 201, "a v1 guest token to try");
  const cases: Record<string, string> = {
    "signed by another key": signRs256(header, claims, rsaKey()),
    "signed by the service's own key": signRs256({ ...header, kid: serviceKey.kid }, claims, serviceKey.privateKeyPem),
    "tampered payload": `${h}.${b64({ ...claims, user_id: "USR-00000000-0000-7000-8000-000000000000" })}.${sig}`,
    "HS256 with the public key as the secret": `${hsInput}.${createHmac("sha256", publicPem).update(hsInput).digest("base64url")}`,
    "alg none": `${b64({ alg: "none", typ: "JWT" })}.${p}.`,
    "signature stripped": `${h}.${p}.`,
    "RS512 with the application's key": (() => {
      const input = `${b64({ alg: "RS512", typ: "JWT" })}.${b64(claims)}`;
      return `${input}.${createSign("RSA-SHA512").update(input).sign(applicationKey).toString("base64url")}`;
    })(),
    "another application's id": signRs256(header, { ...claims, application_id: "00000000-1111-2222-3333-444444444444" }, applicationKey),
    "with an audience": signRs256(header, { ...claims, aud: "vidivo:vapp" }, applicationKey),
    "an application JWT (no sub, no acl)": signRs256(header, { application_id: APPLICATION_ID, iat: now, jti: randomUUID(), exp: now + 900 }, applicationKey),
    "no acl": signRs256(header, { ...claims, acl: undefined }, applicationKey),
    "expired": signRs256(header, { ...claims, iat: now - 3700, exp: now - 100 }, applicationKey),
    "issued in the future": signRs256(header, { ...claims, iat: now + 120, exp: now + 3720 }, applicationKey),
    "today's V-app token (service key, audience vidivo:vapp)": signRs256(
      { ...header, kid: serviceKey.kid },
      { sub: "paul", user_id: paul.user.id, aud: "vidivo:vapp", iss: app.config.publicUrl, iat: now, exp: now + 3600, jti: "x" },
      serviceKey.privateKeyPem,
    ),
    "a v1 access token": (await register(app, "ann@example.com")).access_token,
    "a v1 guest token": guest.json().guest_token,
    "garbage": "a.b.c",
  };
  for (const [what, token] of Object.entries(cases)) {
    for (const url of ["/users", "/users/image", "/image"]) {
      const res = await app.inject({ method: url === "/users" ? "GET" : "POST", url, headers: bearer(token) });
      t.same([res.statusCode, res.json()], [400, BAD_TOKEN], `${url}: ${what}`);
    }
  }
});

t.test("the application's tokens are refused on v1", async (t) => {
  const { app, applicationKey } = await vonageApp(t);
  const paul = await signup(app, "paul");
  const ann = await register(app, "ann@example.com");
  t.equal((await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(ann.access_token) })).statusCode, 200, "the control: v1 works");
  const now = Math.floor(app.clock.now() / 1000);
  // Even with v1's claims, and a kid naming the service's key: the signature is the application's.
  const v1Claims = { sub: ann.user.id, role: "admin", aud: "vidivo:v1", iss: app.config.publicUrl, iat: now, exp: now + 600, jti: "x", auth_time: now };
  const guestLike = { ...v1Claims, role: "guest" };
  for (const [what, token] of [
    ["a V-app session token", paul.token],
    ["v1 claims signed with the application's key", signRs256({ alg: "RS256", typ: "JWT", kid: app.keyring.current.kid }, v1Claims, applicationKey)],
    ["v1 claims signed with the application's key, no kid", signRs256({ alg: "RS256", typ: "JWT" }, v1Claims, applicationKey)],
  ] as const) {
    const res = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(token) });
    t.same([res.statusCode, res.json()], [401, V1_UNAUTHORIZED], `accessToken: ${what}`);
  }
  const guest = signRs256({ alg: "RS256", typ: "JWT", kid: app.keyring.current.kid }, guestLike, applicationKey);
  for (const token of [paul.token, guest]) {
    const res = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(token) }, payload: { link_slug: "nope" } });
    t.same([res.statusCode, res.json()], [401, V1_UNAUTHORIZED], "guestToken: refused");
  }
});

t.test("without a Vonage application, nothing changes", async (t) => {
  const { app } = await testApp(t);
  const paul = await signup(app, "paul");
  const header = decodeProtectedHeader(paul.token);
  t.equal(header.kid, app.keyring.current.kid, "today's token: the service's key");
  const res = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  t.same(res.json().keys.map((k: { kid: string }) => k.kid), [app.keyring.current.kid], "only the service's key is published");
});

t.test("a Vonage key that cannot sign stops the start with one line", async (t) => {
  const bad = async (env: Record<string, string>) => {
    try {
      await testApp(t, { env: { VONAGE_APPLICATION_ID: APPLICATION_ID, ...env } });
      return "started";
    } catch (err) {
      return (err as Error).message;
    }
  };
  t.equal(await bad({ VONAGE_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n" }), "VONAGE_PRIVATE_KEY: not a PEM private key");
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  t.equal(await bad({ VONAGE_PRIVATE_KEY: pkcs8(ec) }), "VONAGE_PRIVATE_KEY: RS256 needs an RSA key");
  t.equal(await bad({ VONAGE_PRIVATE_KEY_FILE: "/nonexistent/private.key" }), "VONAGE_PRIVATE_KEY_FILE=/nonexistent/private.key: cannot be read");
  const serviceKey = pkcs8(rsaKey());
  t.match(await bad({ JWT_PRIVATE_KEY: serviceKey, VONAGE_PRIVATE_KEY: serviceKey }), /is one of the service's own signing keys/, "one key for both is refused");
});
