// Account deletion (DELETE /v1/users/me, DELETE /v1/admin/users/{id}): the owner's confirmation
// (password, or a sign-in less than 5 minutes old), refusals that change nothing, and what a
// deletion does: open calls ended and settled first, every session refused on both surfaces, the
// pictures gone from storage, personal data gone from every table while calls and payments stay,
// the e-mail free again; the admin variant; the customer deleted at Stripe.
import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import t from "tap";
import type { FastifyInstance } from "fastify";
import { everyRow, testApp } from "../helpers/app.ts";
import { png, multipart } from "../helpers/images.ts";
import { activeCallInDomain, advance, createLink, makeUser } from "../helpers/calls.ts";
import { BAD_CREDENTIALS } from "../helpers/vapp.ts";
import { bearer, errorBody, json, login, mailToken, PASSWORD, post, register } from "../helpers/v1.ts";
import { stripeApp } from "../helpers/stripe-app.ts";
import { fromUlid, toUlid } from "../../src/domain/ids.ts";
import { argon2Passwords, type Passwords } from "../../src/domain/passwords.ts";
import { tokenStore } from "../../src/domain/tokens.ts";

const MIN = 60_000;
const UNAUTHORIZED = errorBody("unauthorized", "Authentication is required or the token is invalid.");
const WRONG_PASSWORD = errorBody("invalid_credentials", "The email or password is incorrect.", { password: "is incorrect" });
const NOT_FOUND = errorBody("not_found", "The resource does not exist.");

const deleteMe = (app: FastifyInstance, token: string, body?: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: "DELETE",
    url: "/v1/users/me",
    headers: { ...(body === undefined ? {} : json), ...bearer(token), ...headers },
    ...(body === undefined ? {} : { payload: typeof body === "string" ? body : JSON.stringify(body) }),
  });

/** Every row of every table (the migrations' own bookkeeping aside). */
const rowsNow = (app: FastifyInstance) => everyRow(app, new Set(["_migrations"]));

/** What the account has in the database (to show a refused deletion changed nothing). */
async function footprint(app: FastifyInstance, userId: string) {
  return {
    user: await app.db.user.findUnique({ where: { id: userId } }),
    sessions: await app.db.refreshToken.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    links: await app.db.callLink.findMany({ where: { hostId: userId } }),
    uploads: await app.db.mediaUpload.findMany({ where: { userId } }),
    audit: await app.db.auditLog.count({ where: { action: "user.deleted" } }),
  };
}

const mediaFiles = (dataDir: string) => {
  try {
    return readdirSync(path.join(dataDir, "media")).filter((f) => !f.startsWith("."));
  } catch {
    return [];
  }
};

t.test("a refused deletion changes nothing: wrong password 401, bad input 400, no password on an old sign-in 400", async (t) => {
  const { app, clock } = await testApp(t);
  const s = await register(app, "rita@example.test", { display_name: "Rita" });
  const id = fromUlid(s.user.id)!;
  await createLink(app, await makeUser(app, "host"), {});
  const before = await footprint(app, id);

  // A sign-in 6 minutes old (the access token is still valid): the password is required.
  clock.advance(6 * MIN);
  let res = await deleteMe(app, s.access_token);
  t.equal(res.statusCode, 400);
  t.same(res.json(), errorBody("validation_error", "Request validation failed.", {
    password: "is required: the session did not begin in the last 5 minutes (send the password, or sign in again)",
  }));
  res = await deleteMe(app, s.access_token, {});
  t.equal(res.statusCode, 400, "an empty body is no password either");

  res = await deleteMe(app, s.access_token, { password: "not the password" });
  t.equal(res.statusCode, 401);
  t.same(res.json(), WRONG_PASSWORD);

  for (const [body, field] of [
    [{ password: 12345678 }, "password"],
    [{ password: "" }, "password"],
    [{ password: PASSWORD, extra: true }, "extra"],
    [[PASSWORD], "body"],
    ["null", "body"],
  ] as const) {
    res = await deleteMe(app, s.access_token, body);
    t.equal(res.statusCode, 400, `${JSON.stringify(body)}: 400`);
    t.equal(res.json().error.code, "validation_error");
    t.ok(field in (res.json().error.details ?? {}), `${JSON.stringify(body)}: details name ${field} (${res.body})`);
  }
  res = await deleteMe(app, s.access_token, "{not json");
  t.equal(res.statusCode, 400, "malformed JSON");
  res = await app.inject({ method: "DELETE", url: "/v1/users/me", headers: { ...bearer(s.access_token), "content-type": "text/plain" }, payload: PASSWORD });
  t.equal(res.statusCode, 415, "a body that is not JSON");
  res = await app.inject({ method: "DELETE", url: "/v1/users/me", headers: json, payload: JSON.stringify({ password: PASSWORD }) });
  t.equal(res.statusCode, 401, "no token");
  t.same(res.json(), UNAUTHORIZED);

  t.strictSame(await footprint(app, id), before, "nothing changed");
  t.equal((await login(app, "rita@example.test")).statusCode, 200, "the account still signs in");
});

t.test("the sign-in that stands for the password: login or register less than 5 minutes ago, not a refresh", async (t) => {
  const { app, clock } = await testApp(t);
  const s = await register(app, "fred@example.test");
  clock.advance(4 * MIN);
  const refreshed = await post(app, "/v1/auth/refresh", { refresh_token: s.refresh_token });
  t.equal(refreshed.statusCode, 200);
  clock.advance(2 * MIN);
  // The refreshed token is 2 minutes old, but its session began 6 minutes ago.
  const res = await deleteMe(app, refreshed.json().access_token);
  t.equal(res.statusCode, 400, "a refresh is not a sign-in");
  t.equal(res.json().error.details.password.startsWith("is required"), true);

  const fresh = await login(app, "fred@example.test");
  clock.advance(4 * MIN + 59_000);
  t.equal((await deleteMe(app, fresh.json().access_token)).statusCode, 204, "a login 4 m 59 s ago is enough, without a body");
  t.equal((await login(app, "fred@example.test")).statusCode, 401);

  // Right after registering, with a body without password.
  const n = await register(app, "nina@example.test");
  t.equal((await deleteMe(app, n.access_token, {})).statusCode, 204);
});

t.test("deleting an account: calls ended and settled first, sessions refused on both surfaces, pictures gone, personal data gone, accounting kept", async (t) => {
  const { app, clock, dataDir } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
  const { calls, instance } = app.services;
  const EMAIL = "Zelda.Quixote@example.test";

  // Zelda: a v1 account with a confirmed address, a V-app name, a picture, an upload, a host.
  const s = await register(app, EMAIL, { display_name: "Zelda Quixote" });
  const zelda = fromUlid(s.user.id)!;
  t.equal((await post(app, "/v1/auth/verify-email", { token: await mailToken(app, dataDir, EMAIL, /confirm/i) })).statusCode, 200);
  await app.db.user.update({ where: { id: zelda }, data: { role: "host" } });
  const patched = await app.inject({ method: "PATCH", url: "/v1/users/me", headers: { ...json, ...bearer(s.access_token) }, payload: { username: "zeldaq", bio: "Zelda's bio" } });
  t.equal(patched.statusCode, 200, patched.body);
  const avatarForm = await multipart([{ name: "avatar", data: png(8, 8), filename: "me.png" }]);
  const avatar = await app.inject({ method: "PUT", url: "/v1/users/me/avatar", payload: avatarForm.payload, headers: { ...avatarForm.headers, ...bearer(s.access_token) } });
  t.equal(avatar.statusCode, 200, avatar.body);
  const vappLogin = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "zeldaq", password: PASSWORD } });
  t.equal(vappLogin.statusCode, 200, vappLogin.body);
  const vappToken = vappLogin.json().token as string;
  const imageForm = await multipart([{ name: "image", data: png(4, 4), filename: "x.png" }]);
  const upload = await app.inject({ method: "POST", url: "/image", payload: imageForm.payload, headers: { ...imageForm.headers, ...bearer(vappToken) } });
  t.equal(upload.statusCode, 200, upload.body);
  const pictures = [new URL(avatar.json().avatar_url).pathname.slice("/media/".length), new URL(upload.json().image_url).pathname.slice("/media/".length)];
  t.same(mediaFiles(dataDir).sort(), [...pictures].sort(), "both pictures are stored");
  const guestSession = await post(app, "/v1/auth/guest", { display_name: "Zelda as a guest", email: "zelda.quixote@EXAMPLE.test" });
  t.equal(guestSession.statusCode, 201);

  // As a host: a paid call that is over.
  const host = { id: zelda, token: s.access_token };
  const link = await createLink(app, { ...host, ulid: s.user.id }, { label: "Zelda's readings" });
  const past = await activeCallInDomain(app, zelda, link.short_code, "past");
  await advance(app, clock, 2 * MIN);
  await calls.end({ kind: "guest", id: past.guestId }, past.id);

  // As a guest (her access token): a call still going on another host's link.
  const other = await makeUser(app, "host", "Olga Other");
  const otherLink = await createLink(app, other);
  const started = await calls.initiate({ kind: "user", id: zelda }, { shortCode: otherLink.short_code, paymentMethodId: "pm_card_visa" });
  const open = started.call.id;
  await calls.join({ kind: "user", id: other.id }, open);
  await calls.connected(open, "guest", `${instance.id}.gz`);
  await calls.connected(open, "host", `${instance.id}.hz`);
  await calls.activate(open);
  await advance(app, clock, 3 * MIN - 1000);
  t.equal((await app.db.call.findUniqueOrThrow({ where: { id: open } })).status, "active");
  t.match(await app.db.notification.findFirst({ where: { userId: other.id, type: "call_incoming" } }), { data: { guest_display_name: "Zelda Quixote" } });
  // Her guest session (which gave her address) calls too, with an idempotency key: the stored response names it.
  const guestCall = await app.inject({
    method: "POST",
    url: "/v1/calls/initiate",
    headers: { ...json, ...bearer(guestSession.json().guest_token), "x-idempotency-key": randomUUID() },
    payload: { short_code: otherLink.short_code, payment_method_id: "pm_card_visa" },
  });
  t.equal(guestCall.statusCode, 201, guestCall.body);
  const guestScope = `guest:${fromUlid(guestSession.json().guest.id)}`;
  t.match(await app.db.idempotencyKey.findMany({ where: { scope: guestScope } }), [{ responseBody: /Zelda as a guest/ }]);

  // A fresh sign-in for the deletion (the password is sent all the same).
  const session = (await login(app, EMAIL)).json();
  t.ok(session.refresh_token);
  const beforeRows = JSON.stringify(await rowsNow(app));
  t.match(beforeRows, /zelda/i, "her data is there before");

  const res = await deleteMe(app, session.access_token, { password: PASSWORD });
  t.equal(res.statusCode, 204, res.body);
  t.equal(res.body, "");
  await app.services.tick(); // the settled calls' notices
  await app.mail.idle();

  t.test("the open call was ended as its guest would end it, and billed to the moment", async (t) => {
    const call = await app.db.call.findUniqueOrThrow({ where: { id: open } });
    t.equal(call.status, "completed");
    t.equal(call.endReason, "guest_ended");
    t.equal(call.amountCharged, 900, "3 started minutes at $3.00");
    t.equal(call.guestName, "", "her name is gone from the call");
    const captures = await app.db.capture.findMany({ where: { callId: open } });
    t.same(captures.map((c) => [c.guestId, c.hostId, c.grossCents]), [[zelda, other.id, 900]], "the capture stays, tied to her id");
    t.same((await app.db.billingWindow.findMany({ where: { callId: open } })).map((w) => w.holdStatus), ["captured"]);
  });

  t.test("accounting kept: her calls, captures and links stay, by id", async (t) => {
    t.equal(await app.db.call.count({ where: { OR: [{ hostId: zelda }, { guestId: zelda }] } }), 2);
    t.same((await app.db.capture.findMany({ where: { hostId: zelda } })).map((c) => c.grossCents), [600], "the call she hosted: 2 minutes");
    const links = await app.db.callLink.findMany({ where: { hostId: zelda } });
    t.same(links.map((l) => [l.isActive, l.label]), [[false, null]], "her link is deactivated, its label gone");
    const resolved = await app.inject({ method: "GET", url: `/v1/links/resolve/${link.short_code}` });
    t.match(resolved.json(), { available: false, unavailable_reason: "inactive", host: { display_name: "", avatar_url: null } });
  });

  t.test("no personal data left in any table", async (t) => {
    const rows = await rowsNow(app);
    for (const [table, list] of Object.entries(rows)) {
      const found = list.filter((r) => /zelda|zeldaq|Quixote/i.test(r));
      t.same(found, [], `${table}: nothing names her`);
    }
    const user = await app.db.user.findUniqueOrThrow({ where: { id: zelda } });
    t.match(user, {
      email: null, emailKey: null, username: null, displayName: "", bio: null, passwordHash: "", imageKey: null, emailVerifiedAt: null,
      deletedAt: new Date(clock.now()),
    });
    t.equal(await app.db.refreshToken.count({ where: { userId: zelda } }), 0, "no session");
    t.equal(await app.db.mailToken.count({ where: { userId: zelda } }), 0, "no mail token");
    t.equal(await app.db.notification.count({ where: { userId: zelda } }), 0, "no notification, none added by the settlement since");
    t.equal(await app.db.mediaUpload.count({ where: { userId: zelda } }), 0, "no upload record");
    t.equal(await app.db.idempotencyKey.count({ where: { scope: `user:${zelda}` } }), 0);
    t.equal(await app.db.idempotencyKey.count({ where: { scope: guestScope } }), 0, "nor her guest session's stored responses");
    const guest = await app.db.guest.findUniqueOrThrow({ where: { id: fromUlid(guestSession.json().guest.id)! } });
    t.same([guest.email, guest.displayName], [null, null], "the guest session that gave her address");
    const note = await app.db.notification.findFirstOrThrow({ where: { userId: other.id, type: "call_incoming", data: { path: ["call_id"], equals: toUlid(open) } } });
    t.match(note.data, { call_id: toUlid(open), guest_display_name: "" }, "the other host's notice keeps its content, without her name");
    const audit = await app.db.auditLog.findMany({ where: { action: "user.deleted" } });
    t.match(audit, [{ actorKind: "user", actorId: zelda, targetType: "user", targetId: zelda, data: { by: "self" }, requestId: res.headers["x-request-id"] }]);
  });

  t.test("her pictures are gone from storage", async (t) => {
    t.same(mediaFiles(dataDir), [], "no file left");
    for (const key of pictures) t.equal((await app.inject({ method: "GET", url: `/media/${key}` })).statusCode, 404);
  });

  t.test("no way in: v1 and V-app sign-ins fail, every old token is refused", async (t) => {
    let r = await login(app, EMAIL);
    t.equal(r.statusCode, 401);
    t.equal(r.json().error.code, "invalid_credentials");
    for (const url of ["/login", "/token"]) {
      r = await app.inject({ method: "POST", url, headers: json, payload: { name: "zeldaq", password: PASSWORD } });
      t.equal(r.statusCode, 403, url);
      t.same(r.json(), BAD_CREDENTIALS, url);
    }
    for (const token of [s.access_token, session.access_token]) {
      r = await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(token) });
      t.equal(r.statusCode, 401);
      t.same(r.json(), UNAUTHORIZED);
    }
    for (const refresh of [s.refresh_token, session.refresh_token]) t.equal((await post(app, "/v1/auth/refresh", { refresh_token: refresh })).statusCode, 401);
    r = await app.inject({ method: "GET", url: "/users", headers: bearer(vappToken) });
    t.equal(r.statusCode, 403);
    t.same(r.json(), BAD_CREDENTIALS);
    r = await deleteMe(app, session.access_token, { password: PASSWORD });
    t.equal(r.statusCode, 401, "deleting twice: the token names no account");
  });

  t.test("the V-app list no longer shows her; her address and name can make a new account", async (t) => {
    const bob = await app.inject({ method: "POST", url: "/signup", headers: json, payload: { name: "bobby", password: PASSWORD, display_name: "Bobby" } });
    t.equal(bob.statusCode, 201);
    t.notOk(JSON.stringify(bob.json().users).includes("zeldaq"));
    const list = await app.inject({ method: "GET", url: "/users", headers: bearer(bob.json().token) });
    t.same(list.json(), []);
    const again = await register(app, EMAIL.toLowerCase(), { display_name: "Another Zelda" });
    t.not(again.user.id, s.user.id, "a new, unrelated account");
    t.equal(again.user.email_verified, false);
    const name = await app.inject({ method: "PATCH", url: "/v1/users/me", headers: { ...json, ...bearer(again.access_token) }, payload: { username: "zeldaq" } });
    t.equal(name.statusCode, 200, "the V-app name is free too");
  });
});

t.test("DELETE /v1/admin/users/{id}: admins only, 404 for an unknown or deleted account, not one's own", async (t) => {
  const { app } = await testApp(t);
  const admin = await makeUser(app, "admin", "Ada Admin");
  const user = await makeUser(app, "verified_user", "Victor Victim");
  const url = (id: string) => `/v1/admin/users/${id}`;
  const del = (token: string, id: string) => app.inject({ method: "DELETE", url: url(id), headers: bearer(token) });

  let res = await del(user.token, user.ulid);
  t.equal(res.statusCode, 403);
  t.same(res.json(), errorBody("forbidden", "You do not have permission to do this."));
  t.equal(await app.db.user.count({ where: { id: user.id, deletedAt: null } }), 1, "the non-admin changed nothing");
  res = await del(admin.token, toUlid("01937000-0000-7000-8000-000000000000"));
  t.equal(res.statusCode, 404);
  t.same(res.json(), NOT_FOUND);
  res = await del(admin.token, "not-an-id");
  t.equal(res.statusCode, 400);
  res = await del(admin.token, admin.ulid);
  t.equal(res.statusCode, 409);
  t.same(res.json().error.details, { id: "is your own account: delete it with DELETE /v1/users/me" });

  const token = user.token;
  // Its live channel is open; it ends with the deletion (a reconnection is refused).
  const stream = await app.inject({ method: "GET", url: "/v1/events", headers: bearer(token), payloadAsStream: true });
  t.equal(stream.statusCode, 200);
  const ended = (async () => {
    for await (const _chunk of stream.stream()) void _chunk;
    return "ended";
  })();
  res = await del(admin.token, user.ulid);
  t.equal(res.statusCode, 204);
  t.equal(await Promise.race([ended, new Promise((r) => setTimeout(() => r("still open"), 5000))]), "ended", "the live channel ends");
  t.equal((await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(token) })).statusCode, 401, "its token is refused at once");
  t.match(await app.db.auditLog.findMany({ where: { action: "user.deleted" } }), [{ actorId: admin.id, targetId: user.id, data: { by: "admin" } }]);
  res = await del(admin.token, user.ulid);
  t.equal(res.statusCode, 404, "deleting twice");
  const list = await app.inject({ method: "GET", url: "/v1/admin/users", headers: bearer(admin.token) });
  t.same(list.json().data.map((u: { id: string }) => u.id), [admin.ulid], "a deleted account is not listed");
  const promote = await app.inject({ method: "POST", url: `${url(user.ulid)}/role`, headers: { ...json, ...bearer(admin.token) }, payload: { role: "host" } });
  t.equal(promote.statusCode, 404, "nor can it be given a role");
});

t.test("admin deletion needs the admin's confirmation: their password, or their sign-in less than 5 minutes old", async (t) => {
  const { app, clock } = await testApp(t);
  const a = await register(app, "ada@example.test", { display_name: "Ada Admin" });
  const adminId = fromUlid(a.user.id)!;
  await app.db.user.update({ where: { id: adminId }, data: { role: "admin" } });
  const victim = await makeUser(app, "verified_user", "Victor Victim");
  const del = (token: string, body?: unknown) =>
    app.inject({
      method: "DELETE",
      url: `/v1/admin/users/${victim.ulid}`,
      headers: { ...(body === undefined ? {} : json), ...bearer(token) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const before = await footprint(app, victim.id);

  // The admin's token is still valid, but their sign-in is 6 minutes old.
  clock.advance(6 * MIN);
  let res = await del(a.access_token);
  t.equal(res.statusCode, 400, "a token alone is not enough");
  t.same(res.json(), errorBody("validation_error", "Request validation failed.", {
    password: "is required: the session did not begin in the last 5 minutes (send the password, or sign in again)",
  }));
  res = await del(a.access_token, { password: "not the password" });
  t.equal(res.statusCode, 401);
  t.same(res.json(), WRONG_PASSWORD);
  res = await del(a.access_token, { password: PASSWORD, extra: 1 });
  t.equal(res.statusCode, 400);
  t.ok("extra" in res.json().error.details);
  const refreshed = await post(app, "/v1/auth/refresh", { refresh_token: a.refresh_token });
  res = await del(refreshed.json().access_token);
  t.equal(res.statusCode, 400, "a refresh is not a sign-in");
  t.strictSame(await footprint(app, victim.id), before, "nothing changed");

  res = await del(a.access_token, { password: PASSWORD });
  t.equal(res.statusCode, 204, res.body);
  t.match(await app.db.auditLog.findMany({ where: { action: "user.deleted" } }), [{ actorId: adminId, targetId: victim.id, data: { by: "admin" } }]);

  // A fresh sign-in stands for the password.
  const other = await makeUser(app, "verified_user");
  const fresh = (await login(app, "ada@example.test")).json();
  clock.advance(4 * MIN);
  res = await app.inject({ method: "DELETE", url: `/v1/admin/users/${other.ulid}`, headers: bearer(fresh.access_token) });
  t.equal(res.statusCode, 204, res.body);
});

t.test("two deletions at once (a double submit): one 204, the other 401 as its token now is; so is an export racing a deletion", async (t) => {
  const { app } = await testApp(t);
  const pd = app.services.personalData;
  const { confirmOwner, exportOf } = pd;

  // Both requests pass the token check before either deletes.
  const s = await register(app, "twice@example.test");
  let arrived = 0;
  let bothIn!: () => void;
  const gate = new Promise<void>((r) => (bothIn = r));
  pd.confirmOwner = async (...args) => {
    if (++arrived === 2) bothIn();
    await gate;
    return confirmOwner(...args);
  };
  const answers = await Promise.all([deleteMe(app, s.access_token), deleteMe(app, s.access_token, { password: PASSWORD })]);
  pd.confirmOwner = confirmOwner;
  t.equal(arrived, 2, "both passed the token check");
  t.same(answers.map((r) => r.statusCode).sort(), [204, 401], answers.map((r) => r.body).join(" "));
  t.same(answers.find((r) => r.statusCode === 401)!.json(), UNAUTHORIZED);
  t.equal(await app.db.auditLog.count({ where: { action: "user.deleted" } }), 1, "deleted once");

  // An export whose token was checked just before the account's deletion committed.
  const e = await register(app, "export@example.test");
  pd.exportOf = async (id) => {
    await pd.erase(id, { actor: { kind: "user", id }, by: "self" });
    return exportOf(id);
  };
  const res = await app.inject({ method: "GET", url: "/v1/users/me/export", headers: bearer(e.access_token) });
  pd.exportOf = exportOf;
  t.equal(res.statusCode, 401);
  t.same(res.json(), UNAUTHORIZED);
});

t.test("writes that would land after the deletion (their caller checked before it): no session, no rehash, no live stream", async (t) => {
  const real = argon2Passwords({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
  // Runs once, right after a password was checked (before the sign-in stores anything).
  let afterCheck: (() => Promise<void>) | undefined;
  let rehash = false;
  const passwords: Passwords = {
    hash: (p) => real.hash(p),
    async verify(hash, password) {
      const ok = await real.verify(hash, password);
      const run = afterCheck;
      afterCheck = undefined;
      await run?.();
      return ok;
    },
    needsRehash: (h) => rehash || real.needsRehash(h),
  };
  const { app, clock } = await testApp(t, { overrides: { passwords } });
  const erase = (id: string) => app.services.personalData.erase(id, { actor: { kind: "system" }, by: "operator" });

  for (const [email, needsRehash] of [["signin@example.test", false], ["rehash@example.test", true]] as const) {
    const s = await register(app, email);
    const id = fromUlid(s.user.id)!;
    rehash = needsRehash;
    afterCheck = () => erase(id);
    const res = await login(app, email);
    t.equal(res.statusCode, 401, `${email}: ${res.body}`);
    t.same(res.json(), errorBody("invalid_credentials", "The email or password is incorrect."));
    t.equal(await app.db.refreshToken.count({ where: { userId: id } }), 0, `${email}: no session for the deleted account`);
    t.match(await app.db.user.findUniqueOrThrow({ where: { id } }), { deletedAt: Date, passwordHash: "" }, `${email}: the tombstone stays empty`);
  }

  // The store itself stores no refresh token for a deleted account (a sign-in's, or the successor
  // of one a refresh claimed just before the deletion).
  const r = await makeUser(app, "verified_user");
  await erase(r.id);
  t.equal(await tokenStore({ db: app.db, clock }).startFamily(r.id), null);
  t.equal(await app.db.refreshToken.count({ where: { userId: r.id } }), 0);

  // A live stream that subscribes after the deletion's "closed" went by: refused, not left open.
  const u = await makeUser(app, "verified_user");
  await erase(u.id);
  const gone = new AbortController();
  await t.rejects(app.services.events.open(u.id, { id: "jti", expiresAt: clock.now() + 60_000, signedInAt: null }, null, gone.signal), { code: "unauthorized" });
  t.equal(app.services.events.size, 0, "no stream kept");
});

t.test("stripe: the customer and its saved cards are deleted at the provider first; a provider that cannot be reached fails the deletion (503) and a retry completes it", async (t) => {
  const { app, server, saveCard } = await stripeApp(t);
  const admin = await makeUser(app, "admin");
  const payer = await makeUser(app, "verified_user", "Paula Payer");
  await saveCard(payer, "pm_card_visa", "/v1/payments/setup-intent");
  const { customerRef } = await app.db.paymentCustomer.findUniqueOrThrow({ where: { ownerKind_ownerId: { ownerKind: "user", ownerId: payer.id } } });
  t.ok(server.state.customers.has(customerRef));
  const del = () => app.inject({ method: "DELETE", url: `/v1/admin/users/${payer.ulid}`, headers: bearer(admin.token) });
  const intact = async (what: string) => {
    t.equal(await app.db.user.count({ where: { id: payer.id, deletedAt: null } }), 1, `${what}: the account is still there`);
    t.equal(await app.db.paymentCustomer.count({ where: { customerRef } }), 1, `${what}: with its customer record`);
    t.equal((await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(payer.token) })).statusCode, 200, `${what}: its token works`);
    t.equal(await app.db.auditLog.count({ where: { action: "user.deleted" } }), 0, `${what}: no deletion recorded`);
  };
  const unavailable = { error: { code: "service_unavailable", details: { reason: "payments_unavailable" } } };

  // Stripe cannot be reached (the SDK's retries included).
  server.fail(3, "unreachable", { method: "DELETE", path: `/v1/customers/${customerRef}` });
  let res = await del();
  t.equal(res.statusCode, 503, res.body);
  t.match(res.json(), unavailable);
  t.ok(res.headers["retry-after"]);
  t.ok(server.state.customers.has(customerRef), "the customer is still at Stripe");
  await intact("Stripe unreachable");

  // The deletion goes through at Stripe but its answers are lost.
  server.fail(3, "lost_response", { method: "DELETE", path: `/v1/customers/${customerRef}` });
  res = await del();
  t.equal(res.statusCode, 503, res.body);
  t.match(res.json(), unavailable);
  t.notOk(server.state.customers.has(customerRef), "gone at Stripe");
  await intact("answer lost");

  // The retry: Stripe answers resource_missing, which is done.
  res = await del();
  t.equal(res.statusCode, 204, res.body);
  t.equal(await app.db.paymentCustomer.count(), 0, "gone here too");
  t.equal(await app.db.user.count({ where: { id: payer.id, deletedAt: null } }), 0);
  t.same(server.requests.filter((r) => r.method === "DELETE" && r.fault === null).map((r) => r.status), [404], "one delete answered: resource_missing");

  // A card being saved by an account whose deletion commits meanwhile: no customer record for the
  // tombstone, and the customer just made at Stripe is deleted again.
  const late = await makeUser(app, "verified_user");
  await app.inject({ method: "DELETE", url: `/v1/admin/users/${late.ulid}`, headers: bearer(admin.token) });
  const customers = server.state.customers.size;
  await t.rejects(app.services.payments.customerOf({ kind: "user", id: late.id }), { code: "unauthorized" });
  t.equal(await app.db.paymentCustomer.count(), 0, "no customer record");
  t.equal(server.state.customers.size, customers, "none left at Stripe");
  t.ok(server.requests.some((r) => r.method === "POST" && r.path === "/v1/customers" && r.params.metadata && JSON.stringify(r.params.metadata).includes(late.id)), "one was made");
});

t.test("admin deletion spends the login budget of the address (a stolen token cannot guess the password faster)", async (t) => {
  const LOGIN_MAX = 3;
  const { app, clock } = await testApp(t, { overrides: { rateLimits: { login: { max: LOGIN_MAX, windowMs: 15 * MIN } } } });
  const a = await register(app, "ada@example.test", { display_name: "Ada Admin" });
  await app.db.user.update({ where: { id: fromUlid(a.user.id)! }, data: { role: "admin" } });
  const victim = await makeUser(app, "verified_user", "Victor Victim");
  clock.advance(6 * MIN); // the admin's sign-in is no longer fresh: a password is needed
  const tryPassword = (password: string) =>
    app.inject({ method: "DELETE", url: `/v1/admin/users/${victim.ulid}`, headers: { ...json, ...bearer(a.access_token) }, payload: JSON.stringify({ password }) });
  for (let i = 1; i <= LOGIN_MAX; i++) {
    const res = await tryPassword(`guess ${i}`);
    t.equal(res.statusCode, 401, `guess ${i}: wrong password`);
    t.equal(res.headers["x-ratelimit-limit"], String(LOGIN_MAX), "counted in the login budget");
  }
  const refused = await tryPassword(PASSWORD);
  t.equal(refused.statusCode, 429, "past the budget, even the right password is refused");
  t.ok(Number(refused.headers["retry-after"]) > 0);
  t.equal((await login(app, "ada@example.test")).statusCode, 429, "and so is a login from the same address: one budget");
  t.ok(await app.db.user.findFirst({ where: { id: victim.id, deletedAt: null } }), "the account is still there");
});
