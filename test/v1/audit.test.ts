// The audit log: role changes (admin API and operator CLI), refunds and signing-key rotations are
// recorded with actor, target, time (the injected clock) and request id, in the transaction of the
// change; GET /v1/admin/audit lists them (admin only, cursor pagination, filters); the table
// refuses UPDATE, DELETE and TRUNCATE.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { runAdmin } from "../../scripts/admin.ts";
import { toUlid } from "../../src/domain/ids.ts";
import { loadKeyring } from "../../src/domain/keys.ts";
import { sharedDatabase, testApp } from "../helpers/app.ts";
import { activeCallInDomain, advance, bearer, createLink, json, makeUser, type Party } from "../helpers/calls.ts";
import { errorBody } from "../helpers/v1.ts";

const { app, clock } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
const admin = await makeUser(app, "admin", "Audit Admin");

const auditPage = (who: Party | null, query = "") =>
  app.inject({ method: "GET", url: `/v1/admin/audit${query}`, headers: who ? bearer(who.token) : {} });
const setRole = (who: Party, target: Party, role: string, requestId: string) =>
  app.inject({ method: "POST", url: `/v1/admin/users/${target.ulid}/role`, headers: { ...json, ...bearer(who.token), "x-request-id": requestId }, payload: { role } });
const rows = () => app.db.auditLog.findMany({ orderBy: [{ createdAt: "asc" }, { id: "asc" }] });

t.test("a role change by an admin is recorded once, with actor, target, request id and time", async (t) => {
  const member = await makeUser(app, "verified_user", "Audited Member");
  clock.set(Date.UTC(2026, 11, 5, 10, 0, 0, 123));
  const before = (await rows()).length;
  const res = await setRole(admin, member, "host", "req-role-1");
  t.equal(res.statusCode, 200, res.body);
  const added = (await rows()).slice(before);
  t.equal(added.length, 1, "one row");
  t.match(added[0], {
    action: "user.role_changed",
    actorKind: "user",
    actorId: admin.id,
    targetType: "user",
    targetId: member.id,
    data: { from: "verified_user", to: "host" },
    requestId: "req-role-1",
    createdAt: new Date(Date.UTC(2026, 11, 5, 10, 0, 0, 123)),
  });

  const listed = await auditPage(admin, `?target_id=${member.ulid}`);
  t.equal(listed.statusCode, 200);
  t.same(listed.json().data, [
    {
      id: listed.json().data[0].id,
      action: "user.role_changed",
      actor: { kind: "user", id: admin.ulid },
      target: { type: "user", id: member.ulid },
      data: { from: "verified_user", to: "host" },
      request_id: "req-role-1",
      created_at: "2026-12-05T10:00:00.123Z",
    },
  ]);

  t.equal((await setRole(admin, member, "host", "req-role-2")).statusCode, 200, "the same role again");
  t.equal((await rows()).length, before + 1, "is no change, and is not recorded");
  t.equal((await setRole(admin, admin, "user", "req-role-3")).statusCode, 409, "a refused change");
  t.equal((await rows()).length, before + 1, "is not recorded");
});

t.test("a role change and its audit row are one transaction", async (t) => {
  const member = await makeUser(app, "verified_user", "Atomic Member");
  await app.db.$executeRawUnsafe(`
    CREATE FUNCTION "fail_role_audit"() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW."action" = 'user.role_changed' THEN RAISE EXCEPTION 'injected fault'; END IF;
      RETURN NEW;
    END $$`);
  await app.db.$executeRawUnsafe(`CREATE TRIGGER "fail_role_audit" BEFORE INSERT ON "audit_log" FOR EACH ROW EXECUTE FUNCTION "fail_role_audit"()`);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await app.db.$executeRawUnsafe(`DROP TRIGGER "fail_role_audit" ON "audit_log"`);
  };
  t.teardown(drop);

  const before = (await rows()).length;
  const res = await setRole(admin, member, "host", "req-atomic");
  t.equal(res.statusCode, 500, "the audit row could not be written");
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: member.id } })).role, "verified_user", "so the role did not change");
  t.equal((await rows()).length, before);

  await drop();
  t.equal((await setRole(admin, member, "host", "req-atomic-2")).statusCode, 200);
  t.equal((await app.db.user.findUniqueOrThrow({ where: { id: member.id } })).role, "host");
  t.equal((await rows()).length, before + 1);
});

t.test("a refund by an admin is recorded once per refund", async (t) => {
  const host = await makeUser(app, "host", "Refunded Host");
  const link = await createLink(app, host, { rate_per_minute: "2.50", window_size_minutes: 10 });
  const call = await activeCallInDomain(app, host.id, link.short_code, "audit");
  await advance(app, clock, 90_000);
  const guestToken = app.tokens.guest({ id: call.guestId }).token;
  const end = await app.inject({ method: "POST", url: `/v1/calls/${toUlid(call.id)}/end`, headers: bearer(guestToken) });
  t.equal(end.statusCode, 200, end.body);
  const [charge] = (await app.inject({ method: "GET", url: "/v1/payments/history", headers: bearer(guestToken) })).json().data;
  const refund = (amount: string, key: string, requestId: string) =>
    app.inject({
      method: "POST",
      url: `/v1/admin/payments/${charge.payment_id}/refund`,
      headers: { ...json, ...bearer(admin.token), "x-idempotency-key": key, "x-request-id": requestId },
      payload: { amount, reason: "requested_by_customer" },
    });

  const before = (await rows()).length;
  const first = await refund("1.00", "6e5d4c3b-0000-4000-8000-000000000001", "req-refund-1");
  t.equal(first.statusCode, 201, first.body);
  const again = await refund("1.00", "6e5d4c3b-0000-4000-8000-000000000001", "req-refund-1b");
  t.equal(again.statusCode, 201, "a replayed request");
  t.equal((await rows()).length, before + 1, "records nothing more");
  const second = await refund("0.50", "6e5d4c3b-0000-4000-8000-000000000002", "req-refund-2");
  t.equal(second.statusCode, 201);

  const listed = (await auditPage(admin, "?action=payment.refunded")).json();
  t.same(
    listed.data.map((e: any) => [e.actor, e.target, e.data, e.request_id]),
    [
      [{ kind: "user", id: admin.ulid }, { type: "payment", id: charge.payment_id }, { refund_id: second.json().refund.id, amount: "0.50" }, "req-refund-2"],
      [{ kind: "user", id: admin.ulid }, { type: "payment", id: charge.payment_id }, { refund_id: first.json().refund.id, amount: "1.00" }, "req-refund-1"],
    ],
  );
});

t.test("GET /v1/admin/audit: admin only, a page at a time, filtered", async (t) => {
  const host = await makeUser(app, "host", "Listing Host");
  t.equal((await auditPage(null)).statusCode, 401);
  const forbidden = await auditPage(host);
  t.equal(forbidden.statusCode, 403);
  t.same(forbidden.json(), errorBody("forbidden", "You do not have permission to do this."));

  // Three more role changes, a millisecond apart.
  const people = [await makeUser(app, "verified_user", "P1"), await makeUser(app, "verified_user", "P2"), await makeUser(app, "verified_user", "P3")];
  for (const [i, p] of people.entries()) {
    clock.advance(1);
    t.equal((await setRole(admin, p, "host", `req-list-${i}`)).statusCode, 200);
  }
  const all = (await rows()).reverse();
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await auditPage(admin, `?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    t.equal(res.statusCode, 200, res.body);
    const body = res.json();
    t.ok(body.data.length <= 2);
    t.equal(body.pagination.limit, 2);
    seen.push(...body.data.map((e: any) => e.id));
    cursor = body.pagination.cursor;
    t.equal(body.pagination.has_more, cursor !== null);
  } while (cursor);
  t.same(seen, all.map((r) => toUlid(r.id)), "every entry once, newest first");

  const roleChanges = (await auditPage(admin, "?action=user.role_changed&limit=100")).json().data;
  t.ok(roleChanges.length >= 3 && roleChanges.every((e: any) => e.action === "user.role_changed"));
  t.same(roleChanges.slice(0, 3).map((e: any) => e.request_id), ["req-list-2", "req-list-1", "req-list-0"]);
  const one = (await auditPage(admin, `?target_id=${people[1]!.ulid}`)).json().data;
  t.same(one.map((e: any) => e.target.id), [people[1]!.ulid]);
  t.same((await auditPage(admin, "?target_id=01ARZ3NDEKTSV4RRFFQ69G5FAV")).json().data, [], "nothing about an unknown target");

  const badAction = await auditPage(admin, "?action=user.renamed");
  t.equal(badAction.statusCode, 400);
  const invalidCursor = errorBody("validation_error", "Request validation failed.", { cursor: "is not a valid cursor for this list" });
  const usersCursor = (await app.inject({ method: "GET", url: "/v1/admin/users?limit=1", headers: bearer(admin.token) })).json().pagination.cursor;
  const foreign = await auditPage(admin, `?cursor=${usersCursor}`);
  t.equal(foreign.statusCode, 400, "another list's cursor");
  t.same(foreign.json(), invalidCursor);
  const forged = Buffer.from(JSON.stringify({ l: "audit_log", t: "not a time", i: "x" })).toString("base64url");
  t.same((await auditPage(admin, `?cursor=${forged}`)).json(), invalidCursor, "a forged cursor");
  t.same((await auditPage(admin, "?cursor=@@@")).json(), invalidCursor);
});

t.test("the table is append-only: UPDATE, DELETE and TRUNCATE fail", async (t) => {
  const count = (await rows()).length;
  t.ok(count > 0);
  await t.rejects(app.db.$executeRawUnsafe(`UPDATE "audit_log" SET "action" = 'user.deleted'`), /append-only/);
  await t.rejects(app.db.$executeRawUnsafe(`DELETE FROM "audit_log"`), /append-only/);
  await t.rejects(app.db.$executeRawUnsafe(`DELETE FROM "audit_log" WHERE false`), /append-only/, "even one that matches nothing");
  await t.rejects(app.db.$executeRawUnsafe(`TRUNCATE "audit_log"`), /append-only/);
  await t.rejects(app.sql.query(`UPDATE "audit_log" SET "request_id" = NULL`), /append-only/, "on the raw connection too");
  t.equal((await rows()).length, count);
  // A deleted account's rows stay (ids only): nothing refers to the account.
  const gone = await makeUser(app, "verified_user", "Gone");
  t.equal((await setRole(admin, gone, "host", "req-gone")).statusCode, 200);
  await app.db.user.delete({ where: { id: gone.id } });
  t.equal((await app.db.auditLog.count({ where: { targetId: gone.id } })), 1);
});

t.test("the operator's promote command is recorded with the system as actor", async (t) => {
  const cli = await testApp(t);
  const member = await makeUser(cli.app, "verified_user", "Cli Member");
  const email = (await cli.app.db.user.findUniqueOrThrow({ where: { id: member.id } })).email!;
  await cli.app.close(); // the embedded database is opened by one process at a time
  const env = { DATA_DIR: cli.dataDir, LOG_LEVEL: "silent", ...(cli.config.databaseUrl ? { DATABASE_URL: cli.config.databaseUrl } : {}) };
  const lines: string[] = [];
  t.equal(await runAdmin(["promote", email, "host"], env, { out: (l) => lines.push(l), err: (l) => lines.push(`! ${l}`) }), 0, lines.join("\n"));
  const reopened = await testApp(t, { dataDir: cli.config.databaseUrl ? undefined : cli.dataDir, databaseUrl: cli.config.databaseUrl });
  // (On PostgreSQL the reopened app has a data directory of its own, so a development key of its
  // own: that start is a key rotation, recorded too.)
  const entries = await reopened.app.db.auditLog.findMany({ where: { action: "user.role_changed" } });
  t.match(entries, [{ action: "user.role_changed", actorKind: "system", actorId: null, targetId: member.id, data: { from: "verified_user", to: "host" }, requestId: null }]);
  t.equal(entries.length, 1);
});

t.test("a new signing key is recorded once, however many instances start with it", async (t) => {
  const { database, databaseUrl } = await sharedDatabase(t, "vidivo-audit-keys-");
  const keyDir = mkdtempSync(path.join(tmpdir(), "vidivo-audit-keyfiles-"));
  t.teardown(() => rmSync(keyDir, { recursive: true, force: true }));
  const keyFile = (name: string) => {
    const file = path.join(keyDir, `${name}.pem`);
    writeFileSync(file, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs8" }));
    return file;
  };
  const a = keyFile("a"), b = keyFile("b");
  const kid = (file: string) => loadKeyring({ env: "test", dataDir: keyDir, privateKeyFile: file }).current.kid;
  // Instances on one database: their own connections on PostgreSQL, the one embedded database else.
  const instance = async (key: string) => {
    const started = await testApp(t, { env: { JWT_PRIVATE_KEY_FILE: key }, ...(databaseUrl ? { databaseUrl } : { overrides: { database } }) });
    return started.app;
  };
  const rotations = () => database.prisma.auditLog.findMany({ where: { action: "keys.rotated" }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });

  await (await instance(a)).close();
  t.same(await rotations(), [], "the first start: no rotation");
  await (await instance(a)).close();
  t.same(await rotations(), [], "the same key again: none");

  const [one, two] = await Promise.all([instance(b), instance(b)]);
  const recorded = await rotations();
  t.equal(recorded.length, 1, "two instances start with a new key: one rotation");
  t.match(recorded[0], { actorKind: "system", actorId: null, targetType: "signing_key", targetId: kid(b), data: { kid: kid(b), previous_kid: kid(a) }, requestId: null });
  await Promise.all([one!.close(), two!.close()]);
  await (await instance(b)).close();
  t.equal((await rotations()).length, 1, "a later start with that key: none");

  const back = await instance(a);
  const after = await rotations();
  t.equal(after.length, 2, "back to the first key: a rotation");
  t.match(after[1], { data: { kid: kid(a), previous_kid: kid(b) } });
  const listed = (await back.inject({ method: "GET", url: "/v1/admin/audit?action=keys.rotated", headers: bearer((await makeUser(back, "admin")).token) })).json();
  t.same(listed.data.map((e: any) => [e.actor, e.target, e.data]), [
    [{ kind: "system", id: null }, { type: "signing_key", id: kid(a) }, { kid: kid(a), previous_kid: kid(b) }],
    [{ kind: "system", id: null }, { type: "signing_key", id: kid(b) }, { kid: kid(b), previous_kid: kid(a) }],
  ]);
});
