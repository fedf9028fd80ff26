// Malformed requests across the identity endpoints: each gets a 4xx envelope with the right code,
// none a 500, and none writes anything (accounts, tokens, guests, mail, media).
import { readdirSync } from "node:fs";
import path from "node:path";
import t from "tap";
import { messages } from "../../src/http/i18n.ts";
import { errorStatus, type ErrorCode } from "../../src/domain/errors.ts";
import { testApp } from "../helpers/app.ts";
import { multipart } from "../helpers/images.ts";
import { bearer, outbox, register } from "../helpers/v1.ts";

const { app, dataDir } = await testApp(t);
const files = (dir: string) => {
  try {
    return readdirSync(path.join(dataDir, dir)).length;
  } catch {
    return 0;
  }
};

type Case = [what: string, method: "GET" | "POST" | "PATCH" | "PUT", url: string, body: unknown, code: ErrorCode, details: Record<string, string> | null, headers?: Record<string, string>];

t.test("at least 50 malformed requests: 4xx envelopes, nothing written", async (t) => {
  const s = await register(app, "ann@example.com");
  const admin = await register(app, "root@example.com");
  await app.db.user.update({ where: { emailKey: "root@example.com" }, data: { role: "admin" } });
  const adminToken = app.tokens.access({ id: (await app.db.user.findFirstOrThrow({ where: { emailKey: "root@example.com" } })).id, role: "admin" }).token;
  const auth = bearer(s.access_token);
  const adminAuth = bearer(adminToken);
  await outbox(app, dataDir);

  const long = (n: number) => "x".repeat(n);
  const email255 = `${long(243)}@example.com`;
  const forged = Buffer.from(JSON.stringify({ l: "users", t: "2026-01-01T00:00:00.000Z", i: "not-a-uuid" })).toString("base64url");
  const foreign = Buffer.from(JSON.stringify({ l: "links", t: "2026-01-01T00:00:00.000Z", i: "0193c8a2-0000-7000-8000-000000000000" })).toString("base64url");
  const bigAvatar = await multipart([{ name: "avatar", data: Buffer.alloc(5 * 1024 * 1024 + 10, 1), filename: "a.png" }]);
  const textAvatar = await multipart([{ name: "avatar", data: "<svg/>", filename: "a.svg", type: "image/svg+xml" }]);

  const V = "validation_error";
  const cases: Case[] = [
    // register
    ["register: no body", "POST", "/v1/auth/register", undefined, V, { body: "must be an object" }],
    ["register: empty object", "POST", "/v1/auth/register", {}, V, { email: "is required", password: "is required" }],
    ["register: array body", "POST", "/v1/auth/register", [1, 2], V, { body: "must be an object" }],
    ["register: string body", "POST", "/v1/auth/register", "\"hello\"", V, { body: "must be an object" }],
    ["register: null body", "POST", "/v1/auth/register", "null", V, { body: "must be an object" }],
    ["register: broken JSON", "POST", "/v1/auth/register", '{"email": "a@b.co",', V, { body: "must be valid JSON" }],
    ["register: email a number", "POST", "/v1/auth/register", { email: 42, password: "password1" }, V, { email: "must be a string" }],
    ["register: email not an address", "POST", "/v1/auth/register", { email: "not-an-email", password: "password1" }, V, { email: "must be a valid email address" }],
    ["register: email with spaces inside", "POST", "/v1/auth/register", { email: "a b@example.com", password: "password1" }, V, { email: "must be a valid email address" }],
    ["register: email 255 chars", "POST", "/v1/auth/register", { email: email255, password: "password1" }, V, { email: "must be at most 254 characters" }],
    ["register: password 7 chars", "POST", "/v1/auth/register", { email: "b@example.com", password: "1234567" }, V, { password: "must be at least 8 characters" }],
    ["register: password 257 chars", "POST", "/v1/auth/register", { email: "b@example.com", password: long(257) }, V, { password: "must be at most 256 characters" }],
    ["register: password a boolean", "POST", "/v1/auth/register", { email: "b@example.com", password: true }, V, { password: "must be a string" }],
    ["register: display_name 81 chars", "POST", "/v1/auth/register", { email: "b@example.com", password: "password1", display_name: long(81) }, V, { display_name: "must be at most 80 characters" }],
    ["register: display_name empty", "POST", "/v1/auth/register", { email: "b@example.com", password: "password1", display_name: "" }, V, { display_name: "must not be empty" }],
    ["register: display_name null", "POST", "/v1/auth/register", { email: "b@example.com", password: "password1", display_name: null }, V, { display_name: "must be a string" }],
    ["register: unknown field", "POST", "/v1/auth/register", { email: "b@example.com", password: "password1", role: "admin" }, V, { role: "is not allowed" }],
    ["register: several problems at once", "POST", "/v1/auth/register", { email: 1, password: 2, extra: 3 }, V, { extra: "is not allowed", email: "must be a string", password: "must be a string" }],
    ["register: text/plain", "POST", "/v1/auth/register", '{"email":"b@example.com","password":"password1"}', "unsupported_media_type", null, { "content-type": "text/plain" }],
    ["register: form encoded", "POST", "/v1/auth/register", "email=b%40example.com&password=password1", "unsupported_media_type", null, { "content-type": "application/x-www-form-urlencoded" }],
    ["register: garbage content type", "POST", "/v1/auth/register", "{}", "unsupported_media_type", null, { "content-type": "!!!" }],
    ["register: huge body", "POST", "/v1/auth/register", JSON.stringify({ email: "b@example.com", password: "password1", display_name: long(1024 * 1024) }), "payload_too_large", null],
    // login
    ["login: missing password", "POST", "/v1/auth/login", { email: "ann@example.com" }, V, { password: "is required" }],
    ["login: empty email", "POST", "/v1/auth/login", { email: "", password: "password1" }, V, { email: "must not be empty" }],
    ["login: only spaces as email", "POST", "/v1/auth/login", { email: "   ", password: "password1" }, V, { email: "must not be empty" }],
    ["login: password an object", "POST", "/v1/auth/login", { email: "ann@example.com", password: { $gt: "" } }, V, { password: "must be a string" }],
    ["login: email an array", "POST", "/v1/auth/login", { email: ["ann@example.com"], password: "password1" }, V, { email: "must be a string" }],
    ["login: password 257 chars", "POST", "/v1/auth/login", { email: "ann@example.com", password: long(257) }, V, { password: "must be at most 256 characters" }],
    ["login: unknown field", "POST", "/v1/auth/login", { email: "ann@example.com", password: "password1", remember: true }, V, { remember: "is not allowed" }],
    ["login: multipart", "POST", "/v1/auth/login", textAvatar.payload, "unsupported_media_type", null, textAvatar.headers],
    // refresh, logout
    ["refresh: missing token", "POST", "/v1/auth/refresh", {}, V, { refresh_token: "is required" }],
    ["refresh: token a number", "POST", "/v1/auth/refresh", { refresh_token: 123 }, V, { refresh_token: "must be a string" }],
    ["refresh: token empty", "POST", "/v1/auth/refresh", { refresh_token: "" }, V, { refresh_token: "must not be empty" }],
    ["refresh: token 513 chars", "POST", "/v1/auth/refresh", { refresh_token: `rt_${long(510)}` }, V, { refresh_token: "must be at most 512 characters" }],
    ["refresh: unknown token", "POST", "/v1/auth/refresh", { refresh_token: "rt_forged" }, "unauthorized", null],
    ["logout: token null", "POST", "/v1/auth/logout", { refresh_token: null }, V, { refresh_token: "must be a string" }],
    ["logout: broken JSON", "POST", "/v1/auth/logout", "{refresh_token: rt_x}", V, { body: "must be valid JSON" }],
    // guest
    ["guest: display_name a number", "POST", "/v1/auth/guest", { display_name: 7 }, V, { display_name: "must be a string" }],
    ["guest: display_name 81 chars", "POST", "/v1/auth/guest", { display_name: long(81) }, V, { display_name: "must be at most 80 characters" }],
    ["guest: unknown field", "POST", "/v1/auth/guest", { role: "admin" }, V, { role: "is not allowed" }],
    ["guest: array body", "POST", "/v1/auth/guest", [], V, { body: "must be an object" }],
    ["guest: a JSON null sent as the body (only an absent body may be left out)", "POST", "/v1/auth/guest", "null", V, { body: "must be an object" }],
    // e-mail verification, password reset
    ["verify: missing token", "POST", "/v1/auth/verify-email", {}, V, { token: "is required" }],
    ["verify: forged token", "POST", "/v1/auth/verify-email", { token: `ev_${long(43)}` }, V, { token: "is invalid, expired or already used" }],
    ["verify: token 513 chars", "POST", "/v1/auth/verify-email", { token: long(513) }, V, { token: "must be at most 512 characters" }],
    ["resend: no token", "POST", "/v1/auth/verify-email/resend", undefined, "unauthorized", null],
    ["resend: a refresh token as bearer", "POST", "/v1/auth/verify-email/resend", undefined, "unauthorized", null, { authorization: `Bearer ${s.refresh_token}` }],
    ["reset: email not an address", "POST", "/v1/auth/password/reset", { email: "ann" }, V, { email: "must be a valid email address" }],
    ["reset: email missing", "POST", "/v1/auth/password/reset", {}, V, { email: "is required" }],
    ["reset: unknown field", "POST", "/v1/auth/password/reset", { email: "ann@example.com", lang: "fr" }, V, { lang: "is not allowed" }],
    ["reset confirm: forged token", "POST", "/v1/auth/password/reset/confirm", { token: "pr_forged", password: "password1" }, V, { token: "is invalid, expired or already used" }],
    ["reset confirm: short password", "POST", "/v1/auth/password/reset/confirm", { token: "pr_forged", password: "short" }, V, { password: "must be at least 8 characters" }],
    ["reset confirm: missing both", "POST", "/v1/auth/password/reset/confirm", {}, V, { token: "is required", password: "is required" }],
    // profile
    ["me: no token", "GET", "/v1/users/me", undefined, "unauthorized", null],
    ["patch me: username too short", "PATCH", "/v1/users/me", { username: "ab" }, V, { username: "must be at least 3 characters" }, auth],
    ["patch me: username 65 chars", "PATCH", "/v1/users/me", { username: long(65) }, V, { username: "must be at most 64 characters" }, auth],
    ["patch me: bio 501 chars", "PATCH", "/v1/users/me", { bio: long(501) }, V, { bio: "must be at most 500 characters" }, auth],
    ["patch me: display_name null", "PATCH", "/v1/users/me", { display_name: null }, V, { display_name: "must be a string" }, auth],
    ["patch me: role escalation attempt", "PATCH", "/v1/users/me", { role: "admin" }, V, { role: "is not allowed" }, auth],
    ["patch me: email change attempt", "PATCH", "/v1/users/me", { email: "x@example.com", display_name: "ok" }, V, { email: "is not allowed" }, auth],
    ["patch me: text/plain", "PATCH", "/v1/users/me", "display_name=x", "unsupported_media_type", null, { ...auth, "content-type": "text/plain" }],
    ["patch me: no token", "PATCH", "/v1/users/me", { bio: "x" }, "unauthorized", null],
    ["avatar: JSON body", "PUT", "/v1/users/me/avatar", { avatar: "data:image/png;base64,AAAA" }, "unsupported_media_type", null, auth],
    ["avatar: SVG", "PUT", "/v1/users/me/avatar", textAvatar.payload, V, { avatar: "must be a PNG, JPEG, GIF or WebP image" }, { ...auth, ...textAvatar.headers }],
    ["avatar: over 5 MiB", "PUT", "/v1/users/me/avatar", bigAvatar.payload, "payload_too_large", { avatar: `must be at most ${5 * 1024 * 1024} bytes` }, { ...auth, ...bigAvatar.headers }],
    ["avatar: broken multipart", "PUT", "/v1/users/me/avatar", "--xx\r\nnot really", V, { avatar: "must be a file in a well-formed multipart/form-data body" }, { ...auth, "content-type": "multipart/form-data; boundary=xx" }],
    // administration
    ["admin list: limit 0", "GET", "/v1/admin/users?limit=0", undefined, V, { limit: "must be >= 1" }, adminAuth],
    ["admin list: limit 101", "GET", "/v1/admin/users?limit=101", undefined, V, { limit: "must be <= 100" }, adminAuth],
    ["admin list: limit not a number", "GET", "/v1/admin/users?limit=ten", undefined, V, { limit: "must be an integer" }, adminAuth],
    ["admin list: limit a fraction", "GET", "/v1/admin/users?limit=2.5", undefined, V, { limit: "must be an integer" }, adminAuth],
    ["admin list: cursor not base64url", "GET", "/v1/admin/users?cursor=%%%", undefined, V, { cursor: "is not a valid cursor for this list" }, adminAuth],
    ["admin list: cursor of garbage", "GET", "/v1/admin/users?cursor=bm90IGpzb24", undefined, V, { cursor: "is not a valid cursor for this list" }, adminAuth],
    ["admin list: forged cursor", "GET", `/v1/admin/users?cursor=${forged}`, undefined, V, { cursor: "is not a valid cursor for this list" }, adminAuth],
    ["admin list: another list's cursor", "GET", `/v1/admin/users?cursor=${foreign}`, undefined, V, { cursor: "is not a valid cursor for this list" }, adminAuth],
    ["admin list: cursor 513 chars", "GET", `/v1/admin/users?cursor=${long(513)}`, undefined, V, { cursor: "must be at most 512 characters" }, adminAuth],
    ["admin list: unknown parameter", "GET", "/v1/admin/users?role=admin", undefined, V, { role: "is not allowed" }, adminAuth],
    ["admin role: unknown role", "POST", `/v1/admin/users/${s.user.id}/role`, { role: "superuser" }, V, { role: "must be equal to one of the allowed values" }, adminAuth],
    ["admin role: guest role", "POST", `/v1/admin/users/${s.user.id}/role`, { role: "guest" }, V, { role: "must be equal to one of the allowed values" }, adminAuth],
    ["admin role: id not a ULID", "POST", "/v1/admin/users/123/role", { role: "host" }, V, { id: 'must match pattern "^[0-7][0-9A-HJKMNP-TV-Z]{25}$"' }, adminAuth],
    ["admin role: missing role", "POST", `/v1/admin/users/${s.user.id}/role`, {}, V, { role: "is required" }, adminAuth],
    ["admin role: not an admin", "POST", `/v1/admin/users/${admin.user.id}/role`, { role: "user" }, "forbidden", null, auth],
    // routes and methods that do not exist
    ["unknown route", "GET", "/v1/auth/whoami", undefined, "not_found", null],
    ["wrong method", "GET", "/v1/auth/login", undefined, "method_not_allowed", null],
    ["login: 5000-deep nesting", "POST", "/v1/auth/login", `{"email":${"[".repeat(5000)}${"]".repeat(5000)},"password":"password1"}`, V, { email: "must be a string" }],
    ["register: 5000-deep objects", "POST", "/v1/auth/register", `{"email":"d@example.com","password":"password1","x":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`, V, { x: "is not allowed" }],
    // text PostgreSQL cannot store
    ["register: NUL in display_name", "POST", "/v1/auth/register", { email: "n@example.com", password: "password1", display_name: "Nu\u0000ll" }, V, { display_name: "must not contain NUL characters or unpaired surrogates" }],
    ["register: lone surrogate in password", "POST", "/v1/auth/register", { email: "n@example.com", password: "password\ud800" }, V, { password: "must not contain NUL characters or unpaired surrogates" }],
    ["login: NUL in email", "POST", "/v1/auth/login", { email: "ann@example.com\u0000", password: "password1" }, V, { email: "must not contain NUL characters or unpaired surrogates" }],
    ["profile: lone low surrogate in bio", "PATCH", "/v1/users/me", { bio: "\udc00 hi" }, V, { bio: "must not contain NUL characters or unpaired surrogates" }, auth],
    ["profile: NUL in an unknown key", "PATCH", "/v1/users/me", { "x\u0000": 1 }, V, { "x\u0000": "must not contain NUL characters or unpaired surrogates" }, auth],
    ["admin list: NUL in the query", "GET", "/v1/admin/users?cursor=%00", undefined, V, { cursor: "must not contain NUL characters or unpaired surrogates" }, adminAuth],
    ...["-271821-04-20T00:00:00.000Z", "+275760-09-13T00:00:00.000Z", "0000-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z"].map(
      (instant): Case => [`admin list: cursor at ${instant}`, "GET", `/v1/admin/users?cursor=${Buffer.from(JSON.stringify({ l: "users", t: instant, i: "0193c8a2-0000-7000-8000-000000000000" })).toString("base64url")}`, undefined, V, { cursor: "is not a valid cursor for this list" }, adminAuth],
    ),
    ["path traversal", "GET", "/v1/users/../../etc/passwd", undefined, "not_found", null],
  ];
  t.ok(cases.length >= 50, `${cases.length} cases`);

  const snapshot = async () => ({
    users: JSON.stringify(await app.db.user.findMany({ orderBy: { id: "asc" } })),
    refresh: await app.db.refreshToken.count(),
    mail: await app.db.mailToken.count(),
    guests: await app.db.guest.count(),
    outbox: (await outbox(app, dataDir)).length,
    media: files("media"),
  });
  const before = await snapshot();

  for (const [what, method, url, body, code, details, headers = {}] of cases) {
    const isRaw = typeof body === "string" || Buffer.isBuffer(body);
    const res = await app.inject({
      method,
      url,
      headers: { ...(body !== undefined && !isRaw ? { "content-type": "application/json" } : {}), ...(isRaw && !headers["content-type"] ? { "content-type": "application/json" } : {}), ...headers },
      ...(body === undefined ? {} : { payload: isRaw ? (body as string) : JSON.stringify(body) }),
    });
    t.equal(res.statusCode, errorStatus[code], `${what}: ${res.statusCode}`);
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${what}: a 4xx`);
    t.same(res.json(), { error: { code, message: messages.en[code], details } }, what);
  }
  t.same(await snapshot(), before, "nothing was written");
});
