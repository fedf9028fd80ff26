// E-mail verification and password reset, end to end through the outbox: single-use tokens,
// hashed at rest, 48 h / 1 h; a reset revokes every session; unknown e-mails look like known ones.
import { createHash } from "node:crypto";
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { bearer, errorBody, login, mailToken, outbox, PASSWORD, post, register } from "../helpers/v1.ts";

const { app, clock, dataDir } = await testApp(t);
const HOUR = 3600 * 1000;
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const badToken = errorBody("validation_error", "Request validation failed.", { token: "is invalid, expired or already used" });

t.test("e-mail verification", async (t) => {
  const s = await register(app, "Ann@Example.com", { display_name: "Ann" });
  const mails = await outbox(app, dataDir);
  t.equal(mails.length, 1, "registration sends one mail");
  t.equal(mails[0]!.to.toLowerCase(), "ann@example.com");
  t.equal(mails[0]!.subject, "Confirm your e-mail address");
  t.match(mails[0]!.text, /Hello Ann,/);
  t.match(mails[0]!.html, /<p[^>]*>Hello Ann,<\/p>/, "and an HTML part saying the same");
  t.match(mails[0]!.html, mails[0]!.token!);
  const token = mails[0]!.token!;
  t.match(token, /^ev_[A-Za-z0-9_-]{43}$/);

  const rows = await app.db.mailToken.findMany();
  t.equal(rows.length, 1);
  t.equal(rows[0]!.tokenHash, sha256(token), "stored as its SHA-256 digest");
  t.equal(JSON.stringify(rows).includes(token), false, "the token itself is not stored");
  t.equal(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime(), 48 * HOUR);

  const wrongKind = await post(app, "/v1/auth/password/reset/confirm", { token, password: "new password 1" });
  t.equal(wrongKind.statusCode, 400, "a verification token does not reset passwords");
  t.same(wrongKind.json(), badToken);

  const ok = await post(app, "/v1/auth/verify-email", { token });
  t.equal(ok.statusCode, 200);
  t.same(ok.json(), { user: { ...s.user, role: "verified_user", email_verified: true } });
  const again = await post(app, "/v1/auth/verify-email", { token });
  t.equal(again.statusCode, 400, "single use");
  t.same(again.json(), badToken);

  const me = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(s.access_token) });
  t.match(me.json(), { email_verified: true, role: "verified_user" });
  const relog = (await login(app, "ann@example.com")).json();
  t.equal(JSON.parse(Buffer.from(relog.access_token.split(".")[1], "base64url").toString()).role, "verified_user");

  const resend = await app.inject({ method: "POST", url: "/v1/auth/verify-email/resend", headers: bearer(s.access_token) });
  t.equal(resend.statusCode, 409, "nothing to resend once verified");
  t.same(resend.json(), errorBody("conflict", "The resource already exists or was changed.", { email: "is already verified" }));
  t.equal((await outbox(app, dataDir)).length, 1, "and nothing was sent");
});

t.test("resend, supersession and the 48 hour expiry", async (t) => {
  const s = await register(app, "bob@example.com");
  const first = await mailToken(app, dataDir, "bob@example.com", /Confirm/);
  const resend = await app.inject({ method: "POST", url: "/v1/auth/verify-email/resend", headers: bearer(s.access_token) });
  t.equal(resend.statusCode, 202);
  t.equal(resend.body, "");
  const second = await mailToken(app, dataDir, "bob@example.com", /Confirm/);
  t.not(second, first);
  t.equal((await post(app, "/v1/auth/verify-email", { token: first })).statusCode, 400, "a resend retires the earlier token");

  const noAuth = await app.inject({ method: "POST", url: "/v1/auth/verify-email/resend" });
  t.equal(noAuth.statusCode, 401);

  clock.advance(48 * HOUR + 1);
  const late = await post(app, "/v1/auth/verify-email", { token: second });
  t.equal(late.statusCode, 400, "expired after 48 hours");
  t.same(late.json(), badToken);
  const refreshed = (await login(app, "bob@example.com")).json();
  await app.inject({ method: "POST", url: "/v1/auth/verify-email/resend", headers: bearer(refreshed.access_token) });
  const third = await mailToken(app, dataDir, "bob@example.com", /Confirm/);
  clock.advance(48 * HOUR - 1000);
  t.equal((await post(app, "/v1/auth/verify-email", { token: third })).statusCode, 200, "valid until 48 hours");
});

t.test("password reset end to end", async (t) => {
  await register(app, "cleo@example.com");
  const second = (await login(app, "cleo@example.com")).json();
  const before = (await outbox(app, dataDir)).length;

  const req = await post(app, "/v1/auth/password/reset", { email: " CLEO@example.com " });
  t.equal(req.statusCode, 202);
  t.equal(req.body, "");
  const mails = await outbox(app, dataDir);
  t.equal(mails.length, before + 1);
  const mail = mails[mails.length - 1]!;
  t.equal(mail.subject, "Reset your password");
  t.equal(mail.to, "cleo@example.com");
  const token = mail.token!;
  t.match(token, /^pr_[A-Za-z0-9_-]{43}$/);
  const row = await app.db.mailToken.findUniqueOrThrow({ where: { tokenHash: sha256(token) } });
  t.equal(row.expiresAt.getTime() - row.createdAt.getTime(), HOUR, "reset tokens last one hour");

  const short = await post(app, "/v1/auth/password/reset/confirm", { token, password: "short" });
  t.equal(short.statusCode, 400);
  t.same(short.json(), errorBody("validation_error", "Request validation failed.", { password: "must be at least 8 characters" }));

  const done = await post(app, "/v1/auth/password/reset/confirm", { token, password: "brand new password" });
  t.equal(done.statusCode, 204);
  t.equal(done.body, "");
  t.equal((await login(app, "cleo@example.com")).statusCode, 401, "the old password stops working");
  const fresh = await login(app, "cleo@example.com", "brand new password");
  t.equal(fresh.statusCode, 200, "the new one works");
  t.equal((await post(app, "/v1/auth/refresh", { refresh_token: second.refresh_token })).statusCode, 401, "every earlier session is signed out");
  const firstSession = await app.db.refreshToken.findMany({ where: { user: { emailKey: "cleo@example.com" }, revokedAt: null } });
  t.equal(firstSession.length, 1, "only the session started after the reset is alive");
  t.equal((await post(app, "/v1/auth/refresh", { refresh_token: fresh.json().refresh_token })).statusCode, 200);

  const reuse = await post(app, "/v1/auth/password/reset/confirm", { token, password: "another password" });
  t.equal(reuse.statusCode, 400, "single use");
  t.same(reuse.json(), badToken);

  // A newer request retires the older token; tokens expire after an hour.
  await post(app, "/v1/auth/password/reset", { email: "cleo@example.com" });
  const older = await mailToken(app, dataDir, "cleo@example.com", /Reset/);
  await post(app, "/v1/auth/password/reset", { email: "cleo@example.com" });
  const newer = await mailToken(app, dataDir, "cleo@example.com", /Reset/);
  t.equal((await post(app, "/v1/auth/password/reset/confirm", { token: older, password: "password three" })).statusCode, 400);
  clock.advance(HOUR + 1);
  t.equal((await post(app, "/v1/auth/password/reset/confirm", { token: newer, password: "password three" })).statusCode, 400, "expired after one hour");
  t.equal((await login(app, "cleo@example.com", "brand new password")).statusCode, 200, "the password is unchanged");
});

t.test("a reset request for an unknown e-mail answers exactly like a known one", async (t) => {
  await register(app, "dan@example.com");
  const mailsBefore = (await outbox(app, dataDir)).length;
  const tokensBefore = await app.db.mailToken.count();
  const known = await post(app, "/v1/auth/password/reset", { email: "dan@example.com" }, { "x-request-id": "same" });
  const mailsAfterKnown = (await outbox(app, dataDir)).length;
  const tokensAfterKnown = await app.db.mailToken.count();
  const unknown = await post(app, "/v1/auth/password/reset", { email: "nobody@example.com" }, { "x-request-id": "same" });

  t.equal(unknown.statusCode, known.statusCode);
  t.equal(unknown.statusCode, 202);
  t.equal(unknown.body, known.body);
  const comparable = (h: Record<string, unknown>) => {
    const { date: _d, "x-ratelimit-remaining": _r, "x-ratelimit-reset": _s, ...rest } = h;
    return rest;
  };
  t.same(comparable(unknown.headers), comparable(known.headers), "the same headers");
  t.equal(Number(known.headers["x-ratelimit-remaining"]) - Number(unknown.headers["x-ratelimit-remaining"]), 1, "one budget, counted the same way");

  t.equal(mailsAfterKnown, mailsBefore + 1, "the known address gets a mail");
  t.equal(tokensAfterKnown, tokensBefore + 1);
  t.equal((await outbox(app, dataDir)).length, mailsAfterKnown, "the unknown one sends nothing");
  t.equal(await app.db.mailToken.count(), tokensAfterKnown, "and stores nothing");
  t.equal(await app.db.user.count({ where: { emailKey: "nobody@example.com" } }), 0);
  t.ok(PASSWORD);
});
