// The v1 profile (GET/PATCH /v1/users/me, the avatar), administration (paginated account list,
// role changes) and the operator command.
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { GPS_IFD_TAG, PRIVATE_MARK, exifIfd0Tags, gif, gpsPhoto, multipart, pngBomb, webpCanvasBomb } from "../helpers/images.ts";
import { runAdmin } from "../../scripts/admin.ts";
import { bearer, errorBody, json, login, mailToken, PASSWORD, post, register } from "../helpers/v1.ts";

const { app, clock, dataDir } = await testApp(t);
const FORBIDDEN = errorBody("forbidden", "You do not have permission to do this.");
const me = (token: string) => app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(token) });
const patch = (token: string, payload: unknown) =>
  app.inject({ method: "PATCH", url: "/v1/users/me", headers: { ...json, ...bearer(token) }, payload: JSON.stringify(payload) });
const media = () => {
  try {
    return readdirSync(path.join(dataDir, "media"));
  } catch {
    return [];
  }
};

t.test("GET and PATCH /v1/users/me", async (t) => {
  const s = await register(app, "ann@example.com", { display_name: "Ann" });
  const res = await me(s.access_token);
  t.equal(res.statusCode, 200);
  t.same(res.json(), {
    id: s.user.id, email: "ann@example.com", username: null, display_name: "Ann", bio: null, avatar_url: null,
    role: "user", email_verified: false, language: "en", notification_preferences: { email_incoming_call: true, email_receipts: true },
    created_at: s.user.created_at,
  });

  const changed = await patch(s.access_token, { display_name: "Ann L.", username: "ann", bio: "Tutor of Latin." });
  t.equal(changed.statusCode, 200);
  t.same(changed.json(), { ...res.json(), display_name: "Ann L.", username: "ann", bio: "Tutor of Latin." });
  t.same((await me(s.access_token)).json(), changed.json(), "stored");

  const partial = await patch(s.access_token, { bio: null });
  t.same(partial.json(), { ...changed.json(), bio: null }, "only the fields sent change; null clears the bio");
  t.same((await patch(s.access_token, {})).json(), partial.json(), "an empty patch changes nothing");
  t.equal((await patch(s.access_token, { bio: "b".repeat(500) })).statusCode, 200, "500 characters of bio are fine");

  const other = await register(app, "bob@example.com");
  const taken = await patch(other.access_token, { username: "ann" });
  t.equal(taken.statusCode, 409);
  t.same(taken.json(), errorBody("conflict", "The resource already exists or was changed.", { username: "must be unique" }));
  t.equal((await patch(other.access_token, { username: "Ann" })).statusCode, 200, "usernames are case-sensitive, like the V-app's names");

  // The username is the V-app name: the same account signs in there with the same password.
  const vapp = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "ann", password: PASSWORD } });
  t.equal(vapp.statusCode, 200);
  t.equal(vapp.json().user.display_name, "Ann L.");
});

t.test("the e-mail language and notification preferences: from Accept-Language at registration, changed one at a time", async (t) => {
  const reg = await app.inject({
    method: "POST", url: "/v1/auth/register", headers: { ...json, "accept-language": "fr-CA, en;q=0.5" },
    payload: { email: "flo@example.com", password: PASSWORD },
  });
  t.equal(reg.statusCode, 201);
  const token = reg.json().access_token as string;
  t.match((await me(token)).json(), { language: "fr", notification_preferences: { email_incoming_call: true, email_receipts: true } }, "French, every e-mail on");

  const off = await patch(token, { notification_preferences: { email_receipts: false } });
  t.equal(off.statusCode, 200);
  t.same(off.json().notification_preferences, { email_incoming_call: true, email_receipts: false }, "only the preference sent changes");
  const both = await patch(token, { language: "es", notification_preferences: { email_incoming_call: false } });
  t.same([both.json().language, both.json().notification_preferences], ["es", { email_incoming_call: false, email_receipts: false }]);
  t.same((await me(token)).json(), both.json(), "stored");

  for (const [body, field] of [
    [{ language: "de" }, "language"],
    [{ language: null }, "language"],
    [{ notification_preferences: { email_receipts: "no" } }, "notification_preferences.email_receipts"],
    [{ notification_preferences: { email_push: true } }, "notification_preferences"],
    [{ notification_preferences: null }, "notification_preferences"],
  ] as const) {
    const bad = await patch(token, body);
    t.equal(bad.statusCode, 400, `${JSON.stringify(body)} is refused`);
    t.ok(Object.keys(bad.json().error.details ?? {}).some((k) => k.startsWith(field)), `naming ${field}: ${bad.body}`);
  }
  t.same((await me(token)).json(), both.json(), "and nothing changed");
});

t.test("the avatar: re-encoded 512x512, metadata stripped, the same picture as the V-app image_url", async (t) => {
  const s = await register(app, "cleo@example.com");
  await patch(s.access_token, { username: "cleo" });
  const photo = await sharp({ create: { width: 900, height: 600, channels: 3, background: { r: 200, g: 40, b: 40 } } })
    .jpeg()
    .withExif({ IFD0: { Copyright: "secret-owner", ImageDescription: "home address" } })
    .toBuffer();
  t.ok((await sharp(photo).metadata()).exif, "the upload carries EXIF");

  const body = await multipart([{ name: "avatar", data: photo, filename: "me.txt", type: "text/plain" }, { name: "note", data: "ignored" }]);
  const res = await app.inject({ method: "PUT", url: "/v1/users/me/avatar", payload: body.payload, headers: { ...body.headers, ...bearer(s.access_token) } });
  t.equal(res.statusCode, 200);
  const profile = res.json();
  t.match(profile.avatar_url, /^http:\/\/media\.test\/media\/[0-9a-f-]{36}\.webp$/);
  t.same(profile, { ...(await me(s.access_token)).json(), avatar_url: profile.avatar_url });

  const file = await app.inject({ method: "GET", url: new URL(profile.avatar_url).pathname });
  t.equal(file.statusCode, 200);
  t.equal(file.headers["content-type"], "image/webp");
  const meta = await sharp(file.rawPayload).metadata();
  t.match(meta, { format: "webp", width: 512, height: 512 });
  t.notOk(meta.exif, "no EXIF");
  t.notOk(meta.icc, "no ICC profile");
  t.notOk(meta.xmp, "no XMP");
  t.notOk(file.rawPayload.includes("secret-owner"), "nothing of the metadata survives");

  const vapp = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "cleo", password: PASSWORD } });
  t.equal(vapp.json().user.image_url, profile.avatar_url, "the V-app sees the same picture");

  // A GIF replaces it; the previous file is removed.
  const before = media().length;
  const g = await multipart([{ name: "avatar", data: gif, filename: "a.gif" }]);
  const again = await app.inject({ method: "PUT", url: "/v1/users/me/avatar", payload: g.payload, headers: { ...g.headers, ...bearer(s.access_token) } });
  t.equal(again.statusCode, 200);
  t.not(again.json().avatar_url, profile.avatar_url);
  t.equal(media().length, before, "the old picture is gone");
  t.equal((await app.inject({ method: "GET", url: new URL(profile.avatar_url).pathname })).statusCode, 404);

  // Failures store nothing.
  const count = media().length;
  const failures: [Awaited<ReturnType<typeof multipart>>, number, Record<string, string> | null][] = [
    [await multipart([{ name: "avatar", data: "just text", filename: "a.png", type: "image/png" }]), 400, { avatar: "must be a PNG, JPEG, GIF or WebP image" }],
    [await multipart([{ name: "picture", data: gif, filename: "a.gif" }]), 400, { avatar: "must exist" }],
    [await multipart([{ name: "avatar", data: Buffer.concat([gif.subarray(0, 20)]), filename: "broken.gif" }]), 400, { avatar: "must be a readable image of at most 40 megapixels" }],
  ];
  for (const [b, status, details] of failures) {
    const r = await app.inject({ method: "PUT", url: "/v1/users/me/avatar", payload: b.payload, headers: { ...b.headers, ...bearer(s.access_token) } });
    t.equal(r.statusCode, status);
    t.same(r.json(), errorBody("validation_error", "Request validation failed.", details));
  }
  const asJson = await app.inject({ method: "PUT", url: "/v1/users/me/avatar", headers: { ...json, ...bearer(s.access_token) }, payload: "{}" });
  t.equal(asJson.statusCode, 415);
  t.same(asJson.json(), errorBody("unsupported_media_type", "The request content type is not supported."));
  const big = await multipart([{ name: "avatar", data: Buffer.alloc(5 * 1024 * 1024 + 1), filename: "big.png" }]);
  const tooBig = await app.inject({ method: "PUT", url: "/v1/users/me/avatar", payload: big.payload, headers: { ...big.headers, ...bearer(s.access_token) } });
  t.equal(tooBig.statusCode, 413);
  t.equal(tooBig.json().error.code, "payload_too_large");
  t.equal(media().length, count, "no failed upload left a file");
  t.equal((await me(s.access_token)).json().avatar_url, again.json().avatar_url, "and the avatar is unchanged");
});

t.test("the avatar from a camera photo: no GPS left, upright; broken images and bombs refused", async (t) => {
  const s = await register(app, "dora@example.com");
  const put = async (data: Buffer) => {
    const b = await multipart([{ name: "avatar", data, filename: "me.jpg", type: "image/jpeg" }]);
    return app.inject({ method: "PUT", url: "/v1/users/me/avatar", payload: b.payload, headers: { ...b.headers, ...bearer(s.access_token) } });
  };
  // Stored 120×80, left half red and right half blue; EXIF Orientation 6 shows it turned a quarter
  // clockwise, so the red half is on top.
  const photo = await gpsPhoto({ width: 120, height: 80, orientation: 6 });
  const sent = await sharp(photo).metadata();
  t.ok(sent.exif && exifIfd0Tags(sent.exif).includes(GPS_IFD_TAG) && photo.includes(PRIVATE_MARK), "the upload carries GPS data");
  const res = await put(photo);
  t.equal(res.statusCode, 200);
  const file = await app.inject({ method: "GET", url: new URL(res.json().avatar_url).pathname });
  const meta = await sharp(file.rawPayload).metadata();
  t.match(meta, { format: "webp", width: 512, height: 512 });
  t.notOk(meta.exif, "no EXIF, so no GPS");
  t.notOk(meta.xmp, "no XMP");
  t.notOk(file.rawPayload.includes(PRIVATE_MARK), "nothing of the metadata is in the file");
  const { data } = await sharp(file.rawPayload).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...data.subarray((y * 512 + x) * 3, (y * 512 + x) * 3 + 3)];
  t.ok(at(256, 40)[0]! > 200 && at(256, 40)[2]! < 60, "red on top");
  t.ok(at(256, 470)[2]! > 200 && at(256, 470)[0]! < 60, "blue below");

  const count = media().length;
  const jpeg = await sharp({ create: { width: 120, height: 80, channels: 3, background: "#3a6", noise: { type: "gaussian", mean: 120, sigma: 40 } } }).jpeg().toBuffer();
  const png = await sharp(jpeg).png().toBuffer();
  const animated = await sharp([jpeg, png, jpeg], { join: { animated: true } }).gif().toBuffer();
  for (const [label, data] of [
    ["a truncated JPEG", jpeg.subarray(0, jpeg.length - 200)],
    ["a truncated PNG", png.subarray(0, png.length - 200)],
    ["a truncated GIF with trailing text", Buffer.concat([animated.subarray(0, Math.floor(animated.length * 0.6)), Buffer.from("\ntrailing text\n")])],
    ["a 50 KB PNG of 20000×20000 pixels", pngBomb(20000, 20000)],
    ["a 300-byte animated WebP of 5 frames of 3000×3000", await webpCanvasBomb(3000, 3000, 5)],
  ] as const) {
    const r = await put(data);
    t.same([r.statusCode, r.json()], [400, errorBody("validation_error", "Request validation failed.", { avatar: "must be a readable image of at most 40 megapixels" })], label);
  }
  t.equal(media().length, count, "no refused upload left a file");
  t.equal((await me(s.access_token)).json().avatar_url, res.json().avatar_url, "and the avatar is unchanged");
});

t.test("admin: the account list and role changes", async (t) => {
  const admin = await register(app, "root@example.com");
  const plain = await register(app, "plain@example.com");
  const verified = await register(app, "vera@example.com");
  const listUrl = (q = "") => `/v1/admin/users${q}`;

  t.same((await app.inject({ method: "GET", url: listUrl(), headers: bearer(plain.access_token) })).json(), FORBIDDEN);
  t.equal((await app.inject({ method: "GET", url: listUrl() })).statusCode, 401);

  // Promotion happens through the operator command (with the embedded database the app must be
  // closed: this is exercised in its own test below), here directly in the store.
  await app.db.user.update({ where: { emailKey: "root@example.com" }, data: { role: "admin", emailVerifiedAt: new Date(clock.now()) } });
  const stale = await app.inject({ method: "GET", url: listUrl(), headers: bearer(admin.access_token) });
  t.equal(stale.statusCode, 200, "the account's role counts at once, though the token still says user");
  const token = (await post(app, "/v1/auth/refresh", { refresh_token: admin.refresh_token })).json().access_token;

  const total = await app.db.user.count();
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { statusCode: number; json(): any } = await app.inject({ method: "GET", url: listUrl(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`), headers: bearer(token) });
    t.equal(page.statusCode, 200);
    const body = page.json();
    t.equal(body.pagination.limit, 2);
    t.ok(body.data.length <= 2);
    t.equal(body.pagination.has_more, body.pagination.cursor !== null);
    seen.push(...body.data.map((u: { id: string }) => u.id));
    cursor = body.pagination.cursor;
  } while (cursor);
  t.equal(seen.length, total, "every account exactly once");
  t.equal(new Set(seen).size, total);
  t.same(seen, [...seen].sort().reverse(), "newest first");
  const first = (await app.inject({ method: "GET", url: listUrl(), headers: bearer(token) })).json();
  t.equal(first.pagination.limit, 20, "default limit");
  t.equal(first.data[0].id, verified.user.id);
  t.match(first.data[0], { email: "vera@example.com", role: "user", username: null, avatar_url: null });

  const roleUrl = (id: string) => `/v1/admin/users/${id}/role`;
  const setRole = (id: string, role: string, as = token) =>
    app.inject({ method: "POST", url: roleUrl(id), headers: { ...json, ...bearer(as) }, payload: { role } });

  const needsVerified = await setRole(verified.user.id, "host");
  t.equal(needsVerified.statusCode, 409);
  t.same(needsVerified.json(), errorBody("conflict", "The resource already exists or was changed.", { role: "host needs a verified e-mail address" }));
  await app.db.user.update({ where: { emailKey: "vera@example.com" }, data: { emailVerifiedAt: new Date(clock.now()), role: "verified_user" } });
  const promoted = await setRole(verified.user.id, "host");
  t.equal(promoted.statusCode, 200);
  t.match(promoted.json(), { id: verified.user.id, role: "host", email_verified: true });
  const hostToken = (await login(app, "vera@example.com")).json().access_token;
  t.equal(JSON.parse(Buffer.from(hostToken.split(".")[1], "base64url").toString()).role, "host", "the next token carries the role");
  t.same((await app.inject({ method: "GET", url: listUrl(), headers: bearer(hostToken) })).json(), FORBIDDEN, "a host is not an admin");

  t.equal((await setRole(admin.user.id, "user")).statusCode, 409, "an admin cannot demote themselves");
  t.equal((await setRole("01ARZ3NDEKTSV4RRFFQ69G5FAV", "host")).statusCode, 404);
  t.same((await setRole("01ARZ3NDEKTSV4RRFFQ69G5FAV", "host")).json(), errorBody("not_found", "The resource does not exist."));
  t.equal((await setRole(plain.user.id, "user", hostToken)).statusCode, 403);

  // A demoted admin loses access at once, even with a token that still says admin.
  await app.db.user.update({ where: { emailKey: "root@example.com" }, data: { role: "host" } });
  t.same((await app.inject({ method: "GET", url: listUrl(), headers: bearer(token) })).json(), FORBIDDEN);
});

t.test("npm run admin -- promote <email> <role>", async (t) => {
  const cli = await testApp(t);
  await register(cli.app, "Hana@Example.com");
  await register(cli.app, "ivan@example.com");
  const verify = await post(cli.app, "/v1/auth/verify-email", { token: await mailToken(cli.app, cli.dataDir, "Hana@example.com", /confirm/i) });
  t.equal(verify.statusCode, 200);
  await cli.app.close(); // the embedded database is opened by one process at a time
  const env = { DATA_DIR: cli.dataDir, LOG_LEVEL: "silent", ...(cli.config.databaseUrl ? { DATABASE_URL: cli.config.databaseUrl } : {}) };
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`! ${l}`) };

  t.equal(await runAdmin(["promote", "hana@example.com", "wizard"], env, io), 2);
  t.match(lines.pop(), /unknown role "wizard"/);
  t.equal(await runAdmin(["demote"], env, io), 2);
  t.match(lines.pop(), /^! usage: npm run admin -- promote <email> <role>/);
  t.equal(await runAdmin(["promote", "nobody@example.com", "host"], env, io), 1);
  t.same(lines.pop(), "! no account has the e-mail nobody@example.com");
  t.equal(await runAdmin(["promote", "ivan@example.com", "host"], env, io), 1, "the same rule as the admin API");
  t.same(lines.pop(), "! ivan@example.com: host needs a verified e-mail address (the account's owner confirms it from the mail sent at registration)");
  t.equal(await runAdmin(["promote", "ivan@example.com", "verified_user"], env, io), 0, "lower roles need nothing");

  // The real command, as an operator runs it.
  const run = promisify(execFile);
  const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/admin.ts", "promote", "HANA@example.com", "host"], {
    env: { ...process.env, ...env },
  });
  t.equal(stdout.trim(), "Hana@Example.com: verified_user → host (effective from the account's next access token)");

  const reopened = await testApp(t, { dataDir: cli.config.databaseUrl ? undefined : cli.dataDir, databaseUrl: cli.config.databaseUrl });
  const s = (await login(reopened.app, "hana@example.com")).json();
  t.equal(s.user.role, "host");
});
