// Vonage's webhooks on the V-app surface (docs/vapp.md, "Vonage webhooks"): the answer webhook's
// two NCCOs by GET and POST, the events acknowledged, the signed mode (VONAGE_SIGNATURE_SECRET)
// refusing what Vonage did not sign; and the V-app's unknown paths answered in its error shape.
import { createHash, generateKeyPairSync, randomUUID } from "node:crypto";
import t from "tap";
import fc from "fast-check";
import * as jose from "jose";
import { captureLogs, testApp } from "../helpers/app.ts";
import { VALIDATION, json } from "../helpers/vapp.ts";
import type { ManualClock } from "../../src/domain/ports/clock.ts";
import { webhookVerifier } from "../../src/domain/vonage-webhooks.ts";

const SECRET = "a-signature-secret-of-the-vonage-account";
const CONNECT = [
  { action: "talk", text: "Connecting you to arden" },
  { action: "connect", endpoint: [{ type: "app", user: "arden" }] },
];
const NO_DESTINATION = [{ action: "talk", text: "No destination user - hanging up" }];
const UNSIGNED = { type: "auth:unauthorized", title: "Unauthorized", detail: "The request failed due to a missing or invalid webhook signature" };
const TO_NOT_A_STRING = { ...VALIDATION, invalid_parameters: [{ name: "to", reason: "must be a string" }] };
const NOT_FOUND = { type: "data:notfound", title: "Not Found", detail: "The requested resource does not exist" };
const VOICE_EVENT = { status: "answered", uuid: "63f61863-4a51-4f6b-86e1-46edebcf9356", conversation_uuid: "CON-f972836a-550f-45fa-956c-12a2ab5b7d22", direction: "inbound" };
const RTC_EVENT = { type: "member:joined", id: 4, conversation_id: "CON-f972836a-550f-45fa-956c-12a2ab5b7d22", body: { user: { name: "arden" } } };

const logged = (lines: string[], msg: string) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);

/** A Vonage application's configuration (its id and a key made for the test). */
const APPLICATION = {
  VONAGE_APPLICATION_ID: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
  VONAGE_PRIVATE_KEY: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
};

t.test("without Vonage configured the webhooks are not served: unknown paths, nothing read or logged", async (t) => {
  const { lines, logStream } = captureLogs();
  const { app } = await testApp(t, { env: { LOG_LEVEL: "info" }, overrides: { logStream } });
  for (const [method, url] of [["GET", "/voice/answer?to=arden"], ["POST", "/voice/answer"], ["POST", "/voice/events"], ["POST", "/rtc/events"]] as const) {
    const res = await app.inject({ method, url, headers: json, payload: method === "POST" ? VOICE_EVENT : undefined });
    t.equal(res.statusCode, 404, `${method} ${url}`);
    t.same(res.json(), NOT_FOUND, "the V-app's unknown-path answer");
  }
  t.same(logged(lines, "voice event"), [], "no event logged");
});

t.test("with an application and no signature secret the webhooks are open", async (t) => {
  const { lines, logStream } = captureLogs();
  const { app, config } = await testApp(t, { env: { LOG_LEVEL: "info", ...APPLICATION }, overrides: { logStream } });
  t.equal(config.vonage.signatureSecret, undefined);

  await t.test("GET /voice/answer: the NCCO from the query's `to`", async (t) => {
    const answer = (query: string) => app.inject({ method: "GET", url: `/voice/answer${query}` });
    const connect = await answer("?to=arden&from=447700900000&uuid=63f61863&conversation_uuid=CON-1&region_url=https%3A%2F%2Fapi-eu.vonage.com&SipHeader_X-Room=7");
    t.equal(connect.statusCode, 200);
    t.match(connect.headers["content-type"], /^application\/json/);
    t.same(connect.json(), CONNECT, "Vonage's other parameters are ignored");
    const access = lines.map((l) => JSON.parse(l) as { msg: string; req?: { url: string } }).filter((l) => l.req?.url.startsWith("/voice/answer"));
    t.ok(access.length > 0, "the request is access-logged");
    t.notOk(lines.some((l) => l.includes("447700900000")), "but not the caller's number: the webhook's query is not logged");
    t.same((await answer("")).json(), NO_DESTINATION);
    for (const to of ["", "ab", "x".repeat(65), "%00abc"]) {
      const res = await answer(`?to=${to}`);
      t.equal(res.statusCode, 200, to.slice(0, 12));
      t.same(res.json(), NO_DESTINATION, `${JSON.stringify(to.slice(0, 12))}: not a user's name, no destination`);
    }
    t.same((await answer(`?to=${"é".repeat(64)}`)).json()[1].endpoint, [{ type: "app", user: "é".repeat(64) }], "64 code points is a name");
    const twice = await answer("?to=arden&to=paul");
    t.equal(twice.statusCode, 403);
    t.same(twice.json(), TO_NOT_A_STRING);
  });

  await t.test("POST /voice/answer: the NCCO from the body's `to`", async (t) => {
    const answer = (payload: string | undefined, type = "application/json") =>
      app.inject({ method: "POST", url: "/voice/answer", headers: payload === undefined ? {} : { "content-type": type }, ...(payload === undefined ? {} : { payload }) });
    const connect = await answer(JSON.stringify({ to: "arden", from_user: "paul", uuid: "63f61863", conversation_uuid: "CON-1" }));
    t.equal(connect.statusCode, 200);
    t.same(connect.json(), CONNECT);
    t.same((await answer(JSON.stringify({ to: "arden" }), "application/json; charset=utf-8")).json(), CONNECT);
    for (const [payload, type] of [
      [undefined, undefined],
      ["{}", "application/json"],
      ['{"to":null}', "application/json"],
      ['{"to":"ab"}', "application/json"],
      ['{"to":"\\ud800abc"}', "application/json"],
      ['{"to":', "application/json"],
      ['["arden"]', "application/json"],
      ['{"to":"arden"}', "text/plain"],
      ["to=arden", "application/x-www-form-urlencoded"],
    ] as const) {
      const res = await answer(payload, type);
      t.equal(res.statusCode, 200, `${payload} ${type}`);
      t.same(res.json(), NO_DESTINATION, `${payload} as ${type}: no destination`);
    }
    for (const to of [5, true, ["arden"], { name: "arden" }]) {
      const res = await answer(JSON.stringify({ to }));
      t.equal(res.statusCode, 403, JSON.stringify(to));
      t.same(res.json(), TO_NOT_A_STRING);
    }
    const tooLarge = await answer(JSON.stringify({ to: "arden", padding: "x".repeat(1024 * 1024) }));
    t.equal(tooLarge.statusCode, 413);
    t.equal(tooLarge.json().title, "Payload Too Large");
  });

  await t.test("events are logged and acknowledged with OK, whatever the body", async (t) => {
    lines.length = 0;
    for (const [url, event] of [
      ["/voice/events", VOICE_EVENT],
      ["/rtc/events", RTC_EVENT],
    ] as const) {
      const res = await app.inject({ method: "POST", url, headers: { ...json, authorization: "Bearer anything" }, payload: event });
      t.equal(res.statusCode, 200, url);
      t.match(res.headers["content-type"], /^text\/plain/);
      t.equal(res.body, "OK");
      for (const [payload, type] of [
        ["", "application/json"],
        ["{not json", "application/json"],
        ["[1,2]", "application/json"],
        ["<xml/>", "application/xml"],
      ]) {
        const other = await app.inject({ method: "POST", url, headers: { "content-type": type! }, payload });
        t.equal(other.statusCode, 200, `${url} ${JSON.stringify(payload)} ${type}`);
        t.equal(other.body, "OK");
      }
      t.equal((await app.inject({ method: "POST", url })).body, "OK", "no body");
    }
    const voice = logged(lines, "voice event");
    t.same(voice[0]?.voice_event, { status: "answered", uuid: VOICE_EVENT.uuid, conversation_uuid: VOICE_EVENT.conversation_uuid }, "the event's identifying fields");
    t.same(logged(lines, "rtc event")[0]?.rtc_event, { type: "member:joined", id: 4, conversation_id: RTC_EVENT.conversation_id });
    const long = await app.inject({ method: "POST", url: "/voice/events", headers: json, payload: { status: "s".repeat(5000) } });
    t.equal(long.statusCode, 200);
    t.equal((logged(lines, "voice event").at(-1)?.voice_event as { status: string }).status.length, 100, "long values are cut in the log");
  });
});

/** A token as Vonage signs a webhook delivery (claims overridable, header and key too). */
async function vonageToken(clock: ManualClock, body: string, opts: { claims?: Record<string, unknown>; header?: jose.JWTHeaderParameters; key?: Parameters<jose.SignJWT["sign"]>[0] } = {}) {
  const claims = {
    iat: Math.floor(clock.now() / 1000),
    jti: randomUUID(),
    iss: "Vonage",
    payload_hash: createHash("sha256").update(body).digest("hex"),
    api_key: "a1b2c3d",
    application_id: "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    ...opts.claims,
  };
  return new jose.SignJWT(claims).setProtectedHeader(opts.header ?? { alg: "HS256", typ: "JWT" }).sign(opts.key ?? new TextEncoder().encode(SECRET));
}

t.test("with VONAGE_SIGNATURE_SECRET, only requests Vonage signed are answered", async (t) => {
  const { lines, logStream } = captureLogs();
  const { app, clock } = await testApp(t, { env: { LOG_LEVEL: "info", VONAGE_SIGNATURE_SECRET: SECRET }, overrides: { logStream } });
  const post = (url: string, body: string, authorization: string | undefined) =>
    app.inject({ method: "POST", url, headers: { ...json, ...(authorization === undefined ? {} : { authorization }) }, payload: body });
  const body = JSON.stringify({ to: "arden", from_user: "paul", uuid: "63f61863" });

  await t.test("a correctly signed request is answered", async (t) => {
    const res = await post("/voice/answer", body, `Bearer ${await vonageToken(clock, body)}`);
    t.equal(res.statusCode, 200);
    t.same(res.json(), CONNECT);
    const get = await app.inject({ method: "GET", url: "/voice/answer?to=arden&uuid=63f61863", headers: { authorization: `Bearer ${await vonageToken(clock, "")}` } });
    t.equal(get.statusCode, 200);
    t.same(get.json(), CONNECT);
    const otherHash = await vonageToken(clock, "", { claims: { payload_hash: createHash("sha256").update('{"to":"arden","uuid":"63f61863"}').digest("hex") } });
    t.equal((await app.inject({ method: "GET", url: "/voice/answer?to=arden&uuid=63f61863", headers: { authorization: `Bearer ${otherHash}` } })).statusCode, 200, "a GET's payload_hash is not checked");
    const noHash = await vonageToken(clock, "", { claims: { payload_hash: undefined } });
    t.equal((await app.inject({ method: "GET", url: "/voice/answer", headers: { authorization: `bearer ${noHash}` } })).statusCode, 200, "nor required");
    for (const [url, event] of [
      ["/voice/events", VOICE_EVENT],
      ["/rtc/events", RTC_EVENT],
    ] as const) {
      const text = JSON.stringify(event);
      const ack = await post(url, text, `Bearer ${await vonageToken(clock, text)}`);
      t.equal(ack.statusCode, 200, url);
      t.equal(ack.body, "OK");
    }
    const empty = await app.inject({ method: "POST", url: "/voice/events", headers: { authorization: `Bearer ${await vonageToken(clock, "")}` } });
    t.equal(empty.statusCode, 200, "no body: the hash of no bytes");
    const fromEarlier = await vonageToken(clock, body);
    clock.advance(299_000);
    t.equal((await post("/voice/answer", body, `Bearer ${fromEarlier}`)).statusCode, 200, "within 5 minutes of iat");
    clock.advance(-299_000);
  });

  await t.test("anything else is 401 in the V-app shape, and nothing else happens", async (t) => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const rsaKey = await jose.importPKCS8(rsa.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), "RS256");
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const now = Math.floor(clock.now() / 1000);
    const good = await vonageToken(clock, body);
    const [goodHeader, goodPayload, goodSignature] = good.split(".");
    const refused: [string, string | undefined, string?][] = [
      ["no Authorization", undefined],
      ["not Bearer", `Basic ${Buffer.from("user:pass").toString("base64")}`],
      ["Bearer without a token", "Bearer "],
      ["garbage", "Bearer not.a.token"],
      ["wrong secret", `Bearer ${await vonageToken(clock, body, { key: new TextEncoder().encode("another secret") })}`],
      ["alg none", `Bearer ${b64({ alg: "none", typ: "JWT" })}.${goodPayload}.`],
      ["alg none, the signature kept", `Bearer ${b64({ alg: "none", typ: "JWT" })}.${goodPayload}.${goodSignature}`],
      ["RS256", `Bearer ${await vonageToken(clock, body, { header: { alg: "RS256" }, key: rsaKey })}`],
      ["HS512 with the secret", `Bearer ${await vonageToken(clock, body, { header: { alg: "HS512" } })}`],
      ["HS256 header swapped for HS384", `Bearer ${b64({ alg: "HS384", typ: "JWT" })}.${goodPayload}.${goodSignature}`],
      ["a claim changed after signing", `Bearer ${goodHeader}.${b64({ ...JSON.parse(Buffer.from(goodPayload!, "base64url").toString()), iat: now + 1 })}.${goodSignature}`],
      ["tampered body", `Bearer ${good}`, body.replace("arden", "mallory")],
      ["a byte added to the body", `Bearer ${good}`, `${body} `],
      ["payload_hash of another body", `Bearer ${await vonageToken(clock, body, { claims: { payload_hash: createHash("sha256").update("{}").digest("hex") } })}`],
      ["payload_hash missing", `Bearer ${await vonageToken(clock, body, { claims: { payload_hash: undefined } })}`],
      ["payload_hash in upper case", `Bearer ${await vonageToken(clock, body, { claims: { payload_hash: createHash("sha256").update(body).digest("hex").toUpperCase() } })}`],
      ["payload_hash not a string", `Bearer ${await vonageToken(clock, body, { claims: { payload_hash: 1 } })}`],
      ["stale iat", `Bearer ${await vonageToken(clock, body, { claims: { iat: now - 301 } })}`],
      ["iat in the future", `Bearer ${await vonageToken(clock, body, { claims: { iat: now + 301 } })}`],
      ["iat missing", `Bearer ${await vonageToken(clock, body, { claims: { iat: undefined } })}`],
      ["iat a string", `Bearer ${await vonageToken(clock, body, { claims: { iat: String(now) } })}`],
      ["expired", `Bearer ${await vonageToken(clock, body, { claims: { exp: now - 1 } })}`],
      ["another issuer", `Bearer ${await vonageToken(clock, body, { claims: { iss: "Nexmo" } })}`],
      ["no issuer", `Bearer ${await vonageToken(clock, body, { claims: { iss: undefined } })}`],
      ["crit header", `Bearer ${await vonageToken(clock, body, { header: { alg: "HS256", crit: ["b64"], b64: true } })}`],
      ["two tokens", `Bearer ${good} ${good}`],
      ["a long header", `Bearer ${good}${"A".repeat(5000)}`],
    ];
    lines.length = 0;
    for (const [label, authorization, sent = body] of refused) {
      for (const url of ["/voice/answer", "/voice/events", "/rtc/events"]) {
        const res = await post(url, sent, authorization);
        t.equal(res.statusCode, 401, `${label}: ${url}`);
        t.same(res.json(), UNSIGNED);
      }
    }
    for (const [label, authorization] of refused.slice(0, 11)) {
      const get = await app.inject({ method: "GET", url: "/voice/answer?to=arden", headers: authorization === undefined ? {} : { authorization } });
      t.equal(get.statusCode, 401, `GET: ${label}`);
      t.same(get.json(), UNSIGNED);
    }
    const staleGet = await vonageToken(clock, "", { claims: { iat: now - 301 } });
    t.equal((await app.inject({ method: "GET", url: "/voice/answer", headers: { authorization: `Bearer ${staleGet}` } })).statusCode, 401, "GET: stale iat");
    t.same(logged(lines, "voice event"), [], "no refused event was handled");
    t.same(logged(lines, "rtc event"), []);

    const huge = await post("/voice/events", "x".repeat(2 * 1024 * 1024), undefined);
    t.equal(huge.statusCode, 401, "a body is not read when the token is refused (not 413)");
    const signedHuge = "x".repeat(2 * 1024 * 1024);
    t.equal((await post("/voice/events", signedHuge, `Bearer ${await vonageToken(clock, signedHuge)}`)).statusCode, 413, "a signed body still has the limit");
  });

  await t.test("any Authorization header: 200 or 401, never an error of the server", async (t) => {
    const header = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: fc.constantFrom(..."ABCxyz019-_."), maxLength: 300 }).map((s) => `Bearer ${s}`),
      fc.tuple(fc.json(), fc.json(), fc.string({ maxLength: 60 })).map(([h, p, s]) => `Bearer ${Buffer.from(h).toString("base64url")}.${Buffer.from(p).toString("base64url")}.${Buffer.from(s).toString("base64url")}`),
    );
    await fc.assert(
      fc.asyncProperty(header, fc.constantFrom("/voice/answer", "/voice/events", "/rtc/events"), async (authorization, url) => {
        let res;
        try {
          res = await post(url, body, authorization);
        } catch {
          return; // a header value Node will not send
        }
        if (res.statusCode !== 401 || res.json().type !== "auth:unauthorized") throw new Error(`${res.statusCode} ${res.body} for ${JSON.stringify(authorization)}`);
      }),
      { numRuns: 60, seed: 16 },
    );
    t.pass("every answer was the 401");
  });
});

t.test("the verifier checks application_id when the application is configured", async (t) => {
  const application = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
  const verifier = webhookVerifier(SECRET, application);
  const open = webhookVerifier(SECRET, undefined);
  const clock = { now: () => Date.UTC(2026, 0, 1) } as ManualClock;
  const now = Math.floor(clock.now() / 1000);
  const bearer = async (claims: Record<string, unknown>) => `Bearer ${await vonageToken(clock, "", { claims })}`;
  t.ok(verifier.verify(await bearer({}), now), "its own application");
  t.ok(verifier.verify(await bearer({ application_id: application.toUpperCase() }), now), "in any case");
  t.ok(verifier.verify(await bearer({ application_id: undefined }), now), "or none named");
  t.equal(verifier.verify(await bearer({ application_id: "ffffffff-bbbb-cccc-dddd-0123456789ab" }), now), null, "another application is refused");
  t.equal(verifier.verify(await bearer({ application_id: 7 }), now), null);
  t.ok(open.verify(await bearer({ application_id: "ffffffff-bbbb-cccc-dddd-0123456789ab" }), now), "without a configured application, any");
});

t.test("unknown paths of the V-app answer in its error shape; others in v1's", async (t) => {
  const { app } = await testApp(t);
  const isVapp404 = async (method: "GET" | "POST" | "PUT" | "DELETE", url: string) => {
    const res = await app.inject({ method, url, ...(method === "POST" ? { headers: json, payload: "{}" } : {}) });
    t.equal(res.statusCode, 404, `${method} ${url}`);
    t.same(res.json(), NOT_FOUND, `${method} ${url}: the V-app's shape`);
  };
  for (const url of ["/conversations", "/conversations/CON-f972836a-550f-45fa-956c-12a2ab5b7d22", "/conversations/", "/voice", "/voice/nope", "/rtc", "/rtc/events/x", "/_/nope", "/_", "/ping", "/users/someone", "/image/x.png", "/token/refresh", "/login/x"]) {
    await isVapp404("GET", url);
  }
  await isVapp404("POST", "/conversations");
  await isVapp404("GET", "/conversations?page_size=10");

  const metrics = await app.inject({ method: "GET", url: "/_/metrics" });
  t.equal(metrics.statusCode, 404);
  t.same(metrics.json(), { type: "data:notfound", title: "Not Found", detail: "Metrics are served on the metrics port (METRICS_PORT), at /metrics" });

  const VAPP_405 = { type: "request:methodnotallowed", title: "Method Not Allowed", detail: "The request failed because the method is not allowed on this resource" };
  for (const [method, url, allow] of [
    ["GET", "/voice/events", "POST"],
    ["PUT", "/voice/answer", "GET, HEAD, POST"],
    ["POST", "/_/metrics", "GET, HEAD"],
  ] as const) {
    const res = await app.inject({ method, url });
    t.equal(res.statusCode, 405, `${method} ${url}`);
    t.same(res.json(), VAPP_405);
    t.equal(res.headers.allow, allow);
  }

  for (const url of ["/v1/nope", "/conversationsx", "/v1/conversations", "/nope", "/wp-login.php", "/metrics", "/docs/nope/x", "/.well-known/nope"]) {
    const res = await app.inject({ method: "GET", url });
    t.equal(res.statusCode, 404, url);
    t.equal(res.json().error.code, "not_found", `${url}: the v1 envelope`);
  }
  const health = await app.inject({ method: "POST", url: "/_/health" });
  t.equal(health.statusCode, 405);
  t.equal(health.json().error.code, "method_not_allowed", "/_/health is an Operations path: v1's shape");
});

t.test("with the application and the secret both configured, a delivery signed for another application is refused", async (t) => {
  const { app, clock } = await testApp(t, { env: { ...APPLICATION, VONAGE_SIGNATURE_SECRET: SECRET } });
  const body = JSON.stringify({ to: "arden", uuid: "63f61863" });
  const deliver = async (claims: Record<string, unknown>) =>
    app.inject({ method: "POST", url: "/voice/answer", headers: { ...json, authorization: `Bearer ${await vonageToken(clock, body, { claims })}` }, payload: body });
  const ours = await deliver({});
  t.equal(ours.statusCode, 200, "the application's own delivery");
  t.same(ours.json(), CONNECT);
  t.equal((await deliver({ application_id: APPLICATION.VONAGE_APPLICATION_ID.toUpperCase() })).statusCode, 200, "its id in upper case too");
  const other = await deliver({ application_id: "ffffffff-bbbb-cccc-dddd-0123456789ab" });
  t.equal(other.statusCode, 401, "another application's (signed with the same account secret)");
  t.same(other.json(), UNSIGNED);
  const events = await app.inject({
    method: "POST",
    url: "/rtc/events",
    headers: { ...json, authorization: `Bearer ${await vonageToken(clock, body, { claims: { application_id: "ffffffff-bbbb-cccc-dddd-0123456789ab" } })}` },
    payload: body,
  });
  t.equal(events.statusCode, 401, "on the events webhooks too");
});
