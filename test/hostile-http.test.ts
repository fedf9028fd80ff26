// No body, header, path or query string produces a 5xx. Every operation of openapi.yaml gets
// generated requests: bodies of any JSON shape (own `__proto__` keys, wrong types, values at and
// past each limit, nesting deeper than a call stack, up to and past the body limit, invalid UTF-8,
// broken JSON, broken multipart), any content type, garbage and forged credentials (alg none, HS256
// keyed with the public key, a foreign RSA key, server-signed tokens with odd claims), and valid
// tokens of every kind so that handlers run past authentication. Every answer must be below 500
// and, when it is an error, in its surface's format; the test app's contract observer also fails
// any answer openapi.yaml does not declare.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import t from "tap";
import fc from "fast-check";
import * as jose from "jose";
import type { InjectOptions } from "fastify";
import { injectOnce, testApp } from "./helpers/app.ts";
import { createLink, makeGuest, makeUser, startCall } from "./helpers/calls.ts";
import { PROTOTYPE_NAMES, SEED, brokenJsonText, deepText, hostileKey, invalidUtf8, jsonScalarText, jsonText, objectText } from "./helpers/hostile.ts";
import { png } from "./helpers/images.ts";
import { loadContract, type Operation } from "../src/contract/spec.ts";
import { toUlid, toVappUserId, uuidv7 } from "../src/domain/ids.ts";

const RUNS = Number(process.env.HOSTILE_HTTP_RUNS ?? 30);
const RIGHTFUL_RUNS = Math.ceil((RUNS * 2) / 3);
const MiB = 1024 * 1024;
const j = JSON.stringify;

const { app, clock, config } = await testApp(t);
const contract = await loadContract();

// --- fixtures: one of each kind of caller, and things for their ids to point at ---

const user = await makeUser(app, "user", "Plain User");
const verified = await makeUser(app, "verified_user", "Verified User");
const host = await makeUser(app, "host", "Hostile Host");
const admin = await makeUser(app, "admin", "Admin");
const guest = await makeGuest(app);
const gone = await makeUser(app, "host", "Deleted Host");
const goneToken = gone.token;
await app.db.user.delete({ where: { id: gone.id } });
const link = await createLink(app, host);
const call = await startCall(app, guest, link.short_code);
const vappName = "hostile_vapp";
await app.db.user.update({ where: { id: user.id }, data: { username: vappName } });
const vappToken = app.tokens.vapp({ id: user.id, username: vappName });
const register = await app.inject({ method: "POST", url: "/v1/auth/register", headers: { "content-type": "application/json" }, payload: { email: "fuzz@example.com", password: "password1" } });
const refreshToken = register.json().refresh_token as string;
const upload = await app.inject({ method: "POST", url: "/image", headers: { authorization: `Bearer ${vappToken}`, "content-type": "multipart/form-data; boundary=b" }, payload: multipartBody("b", [{ name: "image", filename: "a.png", data: png() }], "") });
const mediaKey = new URL(upload.json().image_url as string).pathname.replace(/^\/media\//, "");

/** Values a handler would recognise: generated requests mix them in to get past lookups. */
const known = {
  ids: [link.id, call.call.id, user.ulid, host.ulid, admin.ulid, guest.ulid, gone.ulid, toUlid(uuidv7(clock))],
  strings: [link.short_code, "pm_card_visa", "pm_card_chargeDeclined", refreshToken, "fuzz@example.com", "password1", vappName, mediaKey, "2.50", "host", "admin", "user", "verified_user"],
};

// --- credentials ---

const { kid, privateKeyPem, publicKeyPem } = app.keyring.current;
const serverKey = await jose.importPKCS8(privateKeyPem, "RS256");
const foreignKey = await jose.importPKCS8(generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString(), "RS256");
const now = () => Math.floor(clock.now() / 1000);
const baseClaims = () => ({ iss: config.publicUrl, aud: "vidivo:v1", sub: host.ulid, role: "host", jti: randomUUID(), iat: now(), exp: now() + 900 });

/** Claim sets a verifier must survive: wrong types, prototype names, times out of range. */
const oddClaims = fc
  .record(
    {
      iss: fc.oneof(fc.constant(config.publicUrl), jsonValue()),
      aud: fc.oneof(fc.constantFrom("vidivo:v1", "vidivo:vapp", ["vidivo:v1", "x"]), jsonValue()),
      sub: fc.oneof(fc.constantFrom(...known.ids, ...PROTOTYPE_NAMES), jsonValue()),
      role: fc.oneof(fc.constantFrom("guest", "user", "verified_user", "host", "admin", "superadmin", ...PROTOTYPE_NAMES), jsonValue()),
      user_id: fc.oneof(fc.constantFrom(toVappUserId(user.id), toVappUserId(gone.id), "USR-", "USR-__proto__", ...PROTOTYPE_NAMES), jsonValue()),
      jti: fc.oneof(fc.uuid(), jsonValue()),
      iat: fc.oneof(fc.integer({ min: -1, max: 3 }).map((k) => now() + k * 3600), jsonValue()),
      exp: fc.oneof(fc.integer({ min: -1, max: 3 }).map((k) => now() + k * 600), fc.constant(1e300), jsonValue()),
    },
    { requiredKeys: [] },
  )
  .map((c): Record<string, unknown> => ({ ...baseClaims(), ...c }));

function jsonValue() {
  return fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 10 }), fc.constant({}), fc.constant([]), fc.constant({ __proto__: null, toString: 1 }));
}

/** An Authorization header value (or none), resolved when the request is sent (tokens read the clock). */
type Auth = { label: string; value: () => Promise<string | undefined> };
const auth = (label: string, value: () => Promise<string | undefined> | string | undefined): Auth => ({ label, value: async () => value() });
const bearerOf = (token: string) => `Bearer ${token}`;

const headerText = (maxLength = 64) =>
  fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c)), maxLength });
const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : j(v)).toString("base64url");

const valid = {
  accessToken: [
    auth("user", () => bearerOf(user.token)),
    auth("verified", () => bearerOf(verified.token)),
    auth("host", () => bearerOf(host.token)),
    auth("admin", () => bearerOf(admin.token)),
  ],
  guestToken: [auth("guest", () => bearerOf(guest.token))],
  vappToken: [auth("vapp", () => bearerOf(vappToken))],
};
const allValid = [...valid.accessToken, ...valid.guestToken, ...valid.vappToken, auth("deleted user", () => bearerOf(goneToken))];
/** Credentials for one operation: mostly valid ones of the kinds it accepts, so that handlers run. */
const authArb = (op: Operation): fc.Arbitrary<Auth> => {
  const schemes = ((op.spec.security ?? []) as Record<string, unknown>[]).flatMap((a) => Object.keys(a)) as (keyof typeof valid)[];
  const accepted = schemes.flatMap((s) => valid[s] ?? []);
  return fc.oneof(
    { weight: accepted.length ? 8 : 0, arbitrary: fc.constantFrom(...(accepted.length ? accepted : allValid)) },
    { weight: 2, arbitrary: fc.constantFrom(...allValid) },
    { weight: 6, arbitrary: hostileAuth },
  );
};

const hostileAuth: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(auth("none", () => undefined)) },
  // garbage
  {
    weight: 2,
    arbitrary: fc.oneof(
      headerText(200).map((s) => auth(`garbage ${j(s)}`, () => s)),
      headerText(200).map((s) => auth(`Bearer garbage ${j(s)}`, () => `Bearer ${s}`)),
      fc.constantFrom("Bearer", "Bearer ", "bearer x.y.z", "Basic dXNlcjpwYXNz", "Bearer a.b", "Bearer ...", "Bearer a.b.c.d", `Bearer ${"A".repeat(8000)}`, "Bearer =.=.=").map((s) => auth(s.slice(0, 40), () => s)),
      fc.tuple(jsonText([], 2), jsonText(["alg", "kid", "typ"], 2), fc.string({ maxLength: 20 })).map(([h, p, sig]) => auth("garbage segments", () => `Bearer ${b64(h)}.${b64(p)}.${b64(sig)}`)),
    ),
  },
  // forged: alg none, HS256 keyed with the public key (algorithm confusion), a foreign RSA key, kid games
  {
    weight: 3,
    arbitrary: fc.tuple(oddClaims, fc.constantFrom("none", "hs256-public", "foreign", "foreign-kid-unknown", "kid-proto")).map(([claims, how]) =>
      auth(`forged ${how} ${j(claims)}`, async () => {
        if (how === "none") return bearerOf(`${b64({ alg: "none", typ: "JWT", kid })}.${b64(claims)}.`);
        if (how === "hs256-public") return bearerOf(await new jose.SignJWT(claims).setProtectedHeader({ alg: "HS256", kid }).sign(new TextEncoder().encode(publicKeyPem)));
        const header = { alg: "RS256", kid: how === "foreign" ? kid : how === "kid-proto" ? "__proto__" : "unknown" };
        return bearerOf(await new jose.SignJWT(claims).setProtectedHeader(header).sign(how === "kid-proto" ? serverKey : foreignKey));
      }),
    ),
  },
  // signed with the server's own key but with claims it never issues (the verifier's later checks)
  { weight: 3, arbitrary: oddClaims.map((claims) => auth(`server-signed ${j(claims)}`, async () => bearerOf(await new jose.SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).sign(serverKey)))) },
);

// --- paths, query strings, headers ---

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...known.ids, ...known.strings).map(encodeURIComponent) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES).map(encodeURIComponent) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 40 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.constantFrom("%", "%zz", "%ff", "%c0%af", "%00", "%ed%a0%80", "..", ".", "%2e%2e", "%2F", "a%20b", "%E2%80%AE", "x".repeat(199), "x".repeat(201), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "00000000000000000000000000") },
  { weight: 1, arbitrary: fc.ulid() },
);

const queryValue = fc.oneof(
  fc.constantFrom("1", "0", "-1", "100", "101", "20", "1.5", "1e3", "true", "false", "host", "guest", "active", "completed", "charge", "payout", "", "null", "[]", "%00", "%ff"),
  fc.string({ unit: "binary", maxLength: 30 }).map(encodeURIComponent),
  // cursors: base64url of JSON of any shape, of the right shape with wrong values, or not base64 at all
  jsonText(["l", "t", "i", "__proto__", "constructor"], 2).map((s) => Buffer.from(s).toString("base64url")),
  fc.record({ l: fc.constantFrom("links", "calls", "users", "payments", "__proto__"), t: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string()), i: fc.oneof(fc.uuid(), fc.string()) }).map((c) => Buffer.from(j(c)).toString("base64url")),
);

const queryArb = (op: Operation) => {
  const names = [...Object.keys(op.schema.querystring?.properties ?? {}), "__proto__", "constructor", "toString", "limit[]", "a.b", "cursor", "token", "call_id"];
  return fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 }).map(encodeURIComponent)), queryValue), { maxLength: 5 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join("&")}` : ""));
};

const languageArb = fc.oneof(
  fc.constantFrom("en", "es", "fr", "fr-CA, es;q=0.5", "*", "de", "es;q=0", "en;q=2", "en;q=-1", "en;q=abc", ";;;,,,", "q=1", "__proto__", "constructor;q=0.9, toString", "es-ES-x-private;q=0.999"),
  fc.array(fc.tuple(fc.constantFrom("en", "es", "fr", "*", "xx", "__proto__"), fc.double({ min: -2, max: 3, noNaN: true })), { maxLength: 6 }).map((l) => l.map(([tag, q]) => `${tag};q=${q}`).join(",")),
  fc.nat({ max: 2000 }).map((n) => "es;q=0.5,".repeat(n)),
  headerText(100),
);

const requestIdArb = fc.oneof(fc.constantFrom("abc", "x".repeat(128), "x".repeat(129), "a b", "ü", "__proto__", ""), headerText(200));
const idempotencyKeyArb = fc.oneof(fc.uuid(), fc.uuid().map((u) => u.toUpperCase()), fc.constantFrom("", "not-a-uuid", "x".repeat(5000), "__proto__", "00000000-0000-0000-0000-000000000000"), headerText(80));

// --- bodies ---

/** A schema-shaped value: within the limits, just past them, or of another type. */
function valueFor(schema: Record<string, any> | undefined): fc.Arbitrary<string> {
  const types = [schema?.type].flat().filter(Boolean) as string[];
  const options: fc.Arbitrary<string>[] = [jsonScalarText, fc.constantFrom(...known.strings, ...known.ids).map(j)];
  if (schema?.enum) options.push(fc.constantFrom(...(schema.enum as unknown[])).map(j));
  if (types.includes("string")) {
    const min = schema?.minLength ?? 0;
    const max = schema?.maxLength ?? 300;
    options.push(fc.constantFrom(min - 1, min, max, max + 1).filter((n) => n >= 0).chain((n) => fc.constantFrom("a", "é", "\u0000", "😀", " ").map((c) => j(c.repeat(Math.ceil(n / c.length))))));
    if (schema?.format === "email") options.push(fc.emailAddress().map(j), fc.constantFrom(" a@b.co ", "a@b", "@", "a@b.c\u0000", `${"a".repeat(250)}@b.co`).map(j));
    if (schema?.format === "date-time") options.push(fc.date().map((d) => j(Number.isNaN(d.getTime()) ? "2026-13-45T99:99:99Z" : d.toISOString())), fc.constantFrom("2026-01-01", "yesterday", "2026-02-30T00:00:00Z", "+275760-09-13T00:00:00.000Z").map(j));
    if (schema?.pattern) options.push(fc.constantFrom("0.49", "0.50", "999.99", "1000.00", "2.5", "02.50", "abcdefgh", "pm_", "pm_card_visa\u0000", "0".repeat(33)).map(j));
  }
  if (types.includes("integer") || types.includes("number")) {
    const lo = schema?.minimum ?? 0;
    const hi = schema?.maximum ?? 1000;
    options.push(fc.constantFrom(lo - 1, lo, hi, hi + 1, 1.5, -0, 1e308, 2 ** 53 + 1).map(j), fc.constantFrom("1e400", "-1e400", "1.0").map(String));
  }
  if (types.includes("boolean")) options.push(fc.constantFrom("true", "false", '"true"', "1"));
  return fc.oneof(...options, jsonText([], 2));
}

/** A value the operation would accept for this field (so that some requests get all the way through). */
function plausibleFor(name: string, schema: Record<string, any>): fc.Arbitrary<string> {
  const byName: Record<string, fc.Arbitrary<unknown>> = {
    short_code: fc.constant(link.short_code),
    payment_method_id: fc.constantFrom("pm_card_visa", "pm_card_chargeDeclined", "pm_card_declineAfterFirstHold"),
    rate_per_minute: fc.constantFrom("0.50", "2.50", "999.99"),
    refresh_token: fc.constant(refreshToken),
    email: fc.oneof(fc.emailAddress().filter((e) => e.length <= 254), fc.constant("fuzz@example.com")),
    name: fc.constant(vappName),
    password: fc.constant("password1"),
  };
  if (byName[name]) return byName[name].map((v) => j(v));
  if (schema.enum) return fc.constantFrom(...(schema.enum as unknown[])).map(j);
  const types = [schema.type].flat();
  if (schema.format === "date-time") return fc.integer({ min: 1, max: 90 }).map((days) => j(new Date(clock.now() + days * 86_400_000).toISOString()));
  if (types.includes("integer")) return fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 100, 1000) }).map(j);
  if (types.includes("boolean")) return fc.boolean().map(j);
  const min = Math.max(schema.minLength ?? 0, 1);
  return fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789_"), minLength: min, maxLength: Math.max(min, Math.min(schema.maxLength ?? 20, 20)) }).map(j);
}

function schemaBody(op: Operation): fc.Arbitrary<string> {
  const schema = op.spec.requestBody?.content?.["application/json"]?.schema as Record<string, any> | undefined;
  const props = Object.entries((schema?.properties ?? {}) as Record<string, Record<string, any>>);
  if (props.length === 0) return objectText(fc.constant([]));
  const required = new Set<string>(schema?.required ?? []);
  // Every required field and some optional ones, each plausible, or of any shape, or past a limit.
  const entries = fc
    .tuple(...props.map(([name, s]) => fc.option(fc.oneof({ weight: 3, arbitrary: plausibleFor(name, s) }, valueFor(s)), { freq: required.has(name) ? 12 : 3 }).map((v) => [name, v] as const)))
    .map((all) => all.filter((e): e is [string, string] => e[1] !== null));
  const plausible = fc
    .tuple(...props.map(([name, s]) => fc.option(plausibleFor(name, s), { freq: required.has(name) ? 1000 : 2 }).map((v) => [name, v] as const)))
    .map((all) => `{${all.filter((e) => e[1] !== null).map(([k, v]) => `${j(k)}:${v}`).join(",")}}`);
  return fc.oneof(objectText(entries, props.map(([name]) => name)), plausible);
}

interface Part { name: string; filename?: string; type?: string; data: Buffer | string }
function multipartBody(boundary: string, parts: Part[], ending: string): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name=${j(p.name)}${p.filename === undefined ? "" : `; filename=${j(p.filename)}`}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ""}\r\n`), Buffer.from(p.data), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(ending === "" ? `--${boundary}--\r\n` : ending));
  return Buffer.concat(chunks);
}

const fileBytes = fc.oneof(
  fc.constant(png()),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.nat({ max: 60 }).map((n) => png().subarray(0, n)), // a truncated PNG
  fc.constant(Buffer.concat([png().subarray(0, 30), Buffer.from("<script>")])),
  fc.constant(Buffer.from("GIF89a trailing text")),
  fc.constant(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10])),
  fc.constant(Buffer.concat([png(), Buffer.alloc(5 * MiB)])), // over the 5 MiB image limit
);
const multipartArb = (field: string) => fc
  .tuple(
    fc.array(
      fc.record({
        name: fc.oneof({ weight: 3, arbitrary: fc.constant(field) }, fc.constantFrom("image", "avatar", "__proto__", "constructor", "file", ""), fc.string({ maxLength: 10 })),
        filename: fc.option(fc.oneof(fc.constantFrom("a.png", "../../etc/passwd", "a\u0000.png", "__proto__", ""), fc.string({ maxLength: 20 })), { nil: undefined }),
        type: fc.option(fc.constantFrom("image/png", "image/svg+xml", "text/html", "application/octet-stream", "", "x"), { nil: undefined }),
        data: fc.oneof(fileBytes, fc.string({ maxLength: 50 })),
      }, { requiredKeys: ["name", "data"] }),
      { maxLength: 4 },
    ),
    fc.oneof({ weight: 3, arbitrary: fc.constant("") }, fc.constantFrom("--", "--b--", "\r\n", "--xyz")),
    fc.constantFrom("b0undary", "----x", "a b", "\u00ff", "x".repeat(80)),
    fc.oneof({ weight: 3, arbitrary: fc.constant("multipart/form-data; boundary=%B") }, fc.constantFrom('multipart/form-data; boundary="%B"', "multipart/form-data", "multipart/form-data; boundary=", "multipart/mixed; boundary=%B", "application/json")),
  )
  .map(([parts, ending, boundary, type]) => ({ payload: multipartBody(boundary, parts, ending), contentType: type.replace("%B", boundary), label: `multipart ${parts.map((p) => p.name).join(",")}` }));

const contentTypeArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      "application/json; charset=utf-8",
      "application/JSON",
      "application/json; charset=latin1",
      "application/json;;;",
      "application/vnd.api+json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
      "multipart/form-data; boundary=x",
      "",
      "!!!",
      "*/*",
      "application/json, text/plain",
      "__proto__/constructor",
    ),
  },
  { weight: 1, arbitrary: headerText(40) },
);

interface Body { payload?: string | Buffer; contentType: string | undefined; label: string }
const bodyArb = (op: Operation, deepWeight = 1): fc.Arbitrary<Body> => {
  const withType = (payload: fc.Arbitrary<string | Buffer>, label: string) => fc.tuple(payload, contentTypeArb).map(([p, contentType]) => ({ payload: p, contentType, label }));
  return fc.oneof(
    { weight: 2, arbitrary: contentTypeArb.map((contentType) => ({ contentType, label: "no body" })) },
    { weight: 8, arbitrary: withType(schemaBody(op), "schema-shaped") },
    { weight: 3, arbitrary: withType(jsonText(["__proto__", "constructor", "prototype"]), "any JSON") },
    { weight: 2, arbitrary: withType(brokenJsonText(schemaBody(op)), "broken JSON") },
    { weight: deepWeight, arbitrary: withType(deepText(MiB - 100), "deep") },
    { weight: deepWeight, arbitrary: withType(deepText(MiB / 2 - 100).map((d) => `{"email":${d},"password":${d}}`), "deep fields") },
    { weight: 1, arbitrary: withType(fc.integer({ min: -64, max: 64 }).map((k) => `{"display_name":"${"d".repeat(MiB - 20 + k)}"}`), "near 1 MiB") },
    { weight: 1, arbitrary: withType(invalidUtf8.map((b) => Buffer.concat([Buffer.from('{"email":"'), b, Buffer.from('","name":"'), b, Buffer.from('"}')])), "invalid UTF-8") },
    { weight: 1, arbitrary: withType(fc.array(fc.tuple(hostileKey(), fc.string({ maxLength: 20 })), { maxLength: 5 }).map((kv) => new URLSearchParams(kv).toString()), "form") },
    { weight: op.requestContentTypes.includes("multipart/form-data") ? 10 : 1, arbitrary: multipartArb(Object.keys(op.spec.requestBody?.content?.["multipart/form-data"]?.schema?.properties ?? { file: 1 })[0]!) },
  );
};

// --- requests ---

interface Request {
  auth: Auth;
  url: string;
  body: Body;
  headers: Record<string, string>;
}

/** The caller an operation is meant for, and the fixture its path parameters name. */
function rightful(op: Operation): { auth: Auth; segment: (param: string) => string } {
  const schemes = ((op.spec.security ?? []) as Record<string, unknown>[]).flatMap((a) => Object.keys(a));
  const caller: Auth = schemes.includes("vappToken")
    ? valid.vappToken[0]!
    : op.path.startsWith("/v1/admin")
      ? valid.accessToken[3]!
      : op.path.startsWith("/v1/links") || op.path.endsWith("/join")
        ? valid.accessToken[2]!
        : schemes.includes("guestToken")
          ? valid.guestToken[0]!
          : schemes.includes("accessToken")
            ? valid.accessToken[0]!
            : auth("none", () => undefined);
  const segment = (param: string) =>
    param === "short_code" ? link.short_code : param === "key" ? mediaKey : op.path.startsWith("/v1/calls") ? call.call.id : op.path.startsWith("/v1/links") ? link.id : user.ulid;
  return { auth: caller, segment: (p) => encodeURIComponent(segment(p)) };
}

/**
 * A request to `op`: from anyone with anything (hostile), or from the caller the operation is
 * meant for, on real ids, with a fresh idempotency key, so that only the body and headers are hostile.
 */
const requestArb = (op: Operation, mode: "hostile" | "rightful"): fc.Arbitrary<Request> => {
  const params = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const own = rightful(op);
  return fc
    .record({
      auth: mode === "hostile" ? authArb(op) : fc.constant(own.auth),
      segments: fc.tuple(...params.map((p) => (mode === "hostile" ? segment : fc.constant(own.segment(p))))),
      query: fc.option(queryArb(op), { freq: 3, nil: "" }),
      body: bodyArb(op, mode === "hostile" ? 1 : 4),
      language: fc.option(languageArb, { nil: undefined }),
      requestId: fc.option(requestIdArb, { freq: 3, nil: undefined }),
      idempotencyKey: mode === "hostile" ? fc.option(idempotencyKeyArb, { freq: 3, nil: undefined }) : fc.uuid(),
    })
    .map(({ auth, segments, query, body, language, requestId, idempotencyKey }) => {
      let url = op.path;
      params.forEach((p, i) => (url = url.replace(`{${p}}`, segments[i]!)));
      const headers: Record<string, string> = {};
      if (language !== undefined) headers["accept-language"] = language;
      if (requestId !== undefined) headers["x-request-id"] = requestId;
      if (idempotencyKey !== undefined) headers["x-idempotency-key"] = idempotencyKey;
      return { auth, url: url + query, body, headers };
    });
};

const describe = (r: Request) => {
  const payload = r.body.payload === undefined ? "" : Buffer.from(r.body.payload).toString("utf8");
  return `${r.url.slice(0, 300)} auth=${r.auth.label.slice(0, 200)} body(${r.body.label}, ${r.body.contentType === undefined ? "no type" : j(r.body.contentType)}, ${payload.length} chars)=${j(payload.slice(0, 300))} headers=${j(r.headers).slice(0, 300)}`;
};

const STACK = /\n\s+at |\.(?:ts|js):\d+:\d+/;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The checks every answer must pass; returns a problem or null. `pages`: the statuses the operation
 * answers with an HTML page (the guest page's 404 and 410), not the surface's error format.
 */
function problemWith(
  surface: "v1" | "vapp",
  sent: Record<string, string>,
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  pages: Set<number> = new Set(),
): string | null {
  if (res.statusCode >= 500) return `status ${res.statusCode}: ${res.body.slice(0, 300)}`;
  if (STACK.test(res.body)) return `a stack trace in the body: ${res.body.slice(0, 300)}`;
  // docs/api.md, "Request id": the client's request id when it is well-formed, otherwise a new one.
  const id = String(res.headers["x-request-id"]);
  const given = sent["x-request-id"];
  if (!REQUEST_ID.test(id) || (given !== undefined && REQUEST_ID.test(given) && id !== given)) return `X-Request-ID ${j(id)} for ${j(given)}`;
  if (res.statusCode < 400) return null;
  if (pages.has(res.statusCode) && String(res.headers["content-type"]).startsWith("text/html")) return null;
  if (!String(res.headers["content-type"] ?? "").startsWith("application/json")) return `error with content type ${String(res.headers["content-type"])}`;
  let body: any;
  try {
    body = JSON.parse(res.body);
  } catch {
    return `error body is not JSON: ${res.body.slice(0, 200)}`;
  }
  if (surface === "v1") {
    const e = body?.error;
    const ok = e && typeof e.code === "string" && typeof e.message === "string" && (e.details === null || (typeof e.details === "object" && !Array.isArray(e.details)));
    if (!ok || Object.keys(body).length !== 1) return `not the v1 envelope: ${res.body.slice(0, 300)}`;
    const lang = res.headers["content-language"];
    return lang === undefined || ["en", "es", "fr"].includes(String(lang)) ? null : `Content-Language ${j(lang)}`;
  }
  const ok = body && typeof body.type === "string" && typeof body.title === "string" && typeof body.detail === "string";
  return ok ? null : `not the V-app error shape: ${res.body.slice(0, 300)}`;
}

// --- the property, per operation ---

// The deletions last (an admin's, then one's own): a rightful request deletes its caller.
const DELETIONS = ["deleteUser", "deleteMyAccount"];
const operations = [...contract.operations.values()].sort((a, b) => DELETIONS.indexOf(a.operationId) - DELETIONS.indexOf(b.operationId));
t.ok(operations.length >= 40, `${operations.length} operations in openapi.yaml`);
// Statuses per operation, and whether any request got past authentication.
const seen = new Map<string, { statuses: Map<number, number>; pastAuth: number }>();
/** Did this answer come from past the security check (the handler, or validation after auth)? */
function pastAuth(surface: "v1" | "vapp", res: { statusCode: number; body: string }) {
  if (res.statusCode < 300) return true;
  if ([404, 405, 429].includes(res.statusCode)) return false; // the router or the limiter may answer these first
  if (surface === "v1") return res.statusCode !== 401;
  return !String(JSON.parse(res.body).type).startsWith("auth:");
}

for (const op of operations) {
  await t.test(`${op.method} ${op.path} (${op.operationId})`, async (t) => {
    const surface = contract.surfaceOf(op.path);
    const responses = Object.entries((op.spec.responses ?? {}) as Record<string, { content?: object }>);
    const streaming = responses.some(([, r]) => r.content && "text/event-stream" in r.content);
    const pages = new Set(responses.filter(([, r]) => r.content && "text/html" in r.content).map(([status]) => Number(status)));
    const statuses = new Map<number, number>();
    const record = { statuses, pastAuth: 0 };
    seen.set(op.operationId, record);
    const property = (mode: "hostile" | "rightful") =>
      fc.asyncProperty(requestArb(op, mode), async (r) => {
        const authorization = await r.auth.value();
        const headers: Record<string, string> = { ...r.headers };
        if (authorization !== undefined) headers.authorization = authorization;
        if (r.body.contentType !== undefined) headers["content-type"] = r.body.contentType;
        const req: InjectOptions = { method: op.method as InjectOptions["method"], url: r.url, headers };
        if (r.body.payload !== undefined) req.payload = r.body.payload;
        const res = streaming ? await injectOnce(app, req) : await app.inject(req);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const problem = problemWith(surface, headers, res, pages);
        if (problem) throw new Error(`${problem}\n  request (${mode}): ${op.method} ${describe(r)}`);
        if (pastAuth(surface, res)) record.pastAuth++;
      });
    const seed = SEED + operations.indexOf(op);
    await fc.assert(property("hostile"), { seed, numRuns: RUNS });
    await fc.assert(property("rightful"), { seed, numRuns: RIGHTFUL_RUNS });
    t.pass(`statuses ${j(Object.fromEntries(statuses))}, ${record.pastAuth} past authentication`);
  });
}

// Requests no operation matches: another method on a known path, or a path nobody serves.
await t.test("unmatched requests: 404 or 405 in the surface's format, body never read", async (t) => {
  const paths = [...new Set(operations.map((o) => o.path))];
  const pathArb = fc.oneof(
    fc.tuple(fc.constantFrom(...paths), segment).map(([p, seg]) => p.replace(/\{[^}]+\}/g, seg)),
    fc.tuple(fc.constantFrom(...paths), segment).map(([p, seg]) => `${p.replace(/\{[^}]+\}/g, seg)}/${seg}`),
    fc.array(segment, { minLength: 1, maxLength: 4 }).map((segs) => `/${segs.join("/")}`),
    fc.array(segment, { minLength: 1, maxLength: 3 }).map((segs) => `/v1/${segs.join("/")}`),
  );
  const fake = { ...operations[0]!, path: "/unmatched", requestContentTypes: ["application/json"], spec: {}, schema: { response: {} } } as Operation;
  let answered = 0;
  await fc.assert(
    // OPTIONS is left out: the CORS plugin answers every OPTIONS with 204 (openapi.yaml describes
    // only preflight requests, with Access-Control-Request-Method).
    fc.asyncProperty(fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"), pathArb, bodyArb(fake), hostileAuth, async (method, url, body, credentials) => {
      const headers: Record<string, string> = {};
      const authorization = await credentials.value();
      if (authorization !== undefined) headers.authorization = authorization;
      if (body.contentType !== undefined) headers["content-type"] = body.contentType;
      const req: InjectOptions = { method: method as InjectOptions["method"], url, headers };
      if (body.payload !== undefined && method !== "GET" && method !== "HEAD") req.payload = body.payload;
      const res = await app.inject(req);
      const surface = contract.surfaceOf(url);
      const problem = method === "HEAD" ? (res.statusCode >= 500 ? `status ${res.statusCode}` : null) : problemWith(surface, headers, res);
      if (problem) throw new Error(`${problem}\n  request: ${method} ${url} ${body.label} ${j(body.contentType)}`);
      answered++;
    }),
    { seed: SEED, numRuns: RUNS * 4 },
  );
  t.equal(answered, RUNS * 4);
});

t.test("authenticated operations were exercised past authentication", async (t) => {
  for (const op of operations) {
    if (!(op.spec.security ?? []).length) continue;
    const record = seen.get(op.operationId)!;
    t.ok(record.pastAuth >= 3, `${op.operationId}: ${record.pastAuth} requests past authentication (${j(Object.fromEntries(record.statuses))})`);
  }
});

t.test("the process still serves after the barrage", async (t) => {
  // A new account: the barrage ended with the deletions, which may have deleted every caller.
  const after = await makeUser(app, "host", "After The Barrage");
  const res = await app.inject({ method: "GET", url: "/v1/users/me", headers: { authorization: `Bearer ${after.token}` } });
  t.equal(res.statusCode, 200);
  t.equal((await app.inject({ method: "GET", url: "/health" })).statusCode, 200);
});
