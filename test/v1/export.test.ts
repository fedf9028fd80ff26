// GET /v1/users/me/export: everything stored about the caller, in every section, never a secret;
// limited per account; and the schema check that keeps it (and deletion) complete: every table
// that refers to an account (a foreign key to users, directly or through other tables, or a column
// naming a user) must be in ACCOUNT_TABLES of src/domain/personal-data.ts, every other table in
// UNRELATED_TABLES with a reason, and every column of users in USER_COLUMNS, so a table or a users
// column added without a decision fails here.
import t from "tap";
import type { FastifyInstance } from "fastify";
import { tableNames, testApp } from "../helpers/app.ts";
import { png, multipart } from "../helpers/images.ts";
import { activeCallInDomain, advance, createLink, makeGuest, makeUser } from "../helpers/calls.ts";
import { bearer, errorBody, json, login, mailToken, PASSWORD, post, register } from "../helpers/v1.ts";
import { fromUlid, toUlid, uuidv7 } from "../../src/domain/ids.ts";
import { digest } from "../../src/domain/tokens.ts";
import { ACCOUNT_TABLES, UNRELATED_TABLES, USER_COLUMNS } from "../../src/domain/personal-data.ts";
import { loadContract } from "../../src/contract/spec.ts";

const MIN = 60_000;
/** The migration runner's own table (src/db/migrate.ts), and Prisma Migrate's should it ever be used. */
const MIGRATION_BOOKKEEPING = new Set(["_migrations", "_prisma_migrations"]);
const exportOf = (app: FastifyInstance, token: string) => app.inject({ method: "GET", url: "/v1/users/me/export", headers: bearer(token) });

t.test("the export holds the caller's data in every section, and nobody else's, and no secret", async (t) => {
  const { app, clock, dataDir } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
  const { calls, instance } = app.services;
  const EMAIL = "ines@example.test";
  const s = await register(app, EMAIL, { display_name: "Ines" });
  const ines = fromUlid(s.user.id)!;
  t.equal((await post(app, "/v1/auth/verify-email", { token: await mailToken(app, dataDir, EMAIL, /confirm/i) })).statusCode, 200);
  const admin = await makeUser(app, "admin", "Ada Admin");
  const promoted = await app.inject({ method: "POST", url: `/v1/admin/users/${s.user.id}/role`, headers: { ...json, ...bearer(admin.token) }, payload: { role: "host" } });
  t.equal(promoted.statusCode, 200, promoted.body);
  const session = (await login(app, EMAIL)).json();
  const token = session.access_token as string;
  await app.inject({ method: "PATCH", url: "/v1/users/me", headers: { ...json, ...bearer(token) }, payload: { username: "ines" } });
  const form = await multipart([{ name: "avatar", data: png(8, 8), filename: "me.png" }]);
  const avatar = await app.inject({ method: "PUT", url: "/v1/users/me/avatar", payload: form.payload, headers: { ...form.headers, ...bearer(token) } });
  const vapp = (await app.inject({ method: "POST", url: "/token", headers: json, payload: { name: "ines", password: PASSWORD } })).json().token as string;
  const imageForm = await multipart([{ name: "image", data: png(4, 4), filename: "x.png" }]);
  const upload = await app.inject({ method: "POST", url: "/image", payload: imageForm.payload, headers: { ...imageForm.headers, ...bearer(vapp) } });
  t.equal(upload.statusCode, 200);
  const guestSession = (await post(app, "/v1/auth/guest", { display_name: "Ines the guest", email: EMAIL })).json();
  await post(app, "/v1/auth/guest", { display_name: "Someone else", email: "someone@example.test" });

  // As host: a link and a paid call; as guest: a paid call on another host's link.
  const link = await createLink(app, { id: ines, ulid: s.user.id, token }, { label: "Readings" });
  const hosted = await activeCallInDomain(app, ines, link.short_code, "h");
  await advance(app, clock, 2 * MIN);
  await calls.end({ kind: "guest", id: hosted.guestId }, hosted.id);
  const other = await makeUser(app, "host", "Olga");
  const otherLink = await createLink(app, other);
  const guested = (await calls.initiate({ kind: "user", id: ines }, { shortCode: otherLink.short_code, paymentMethodId: "pm_card_visa" })).call.id;
  await calls.join({ kind: "user", id: other.id }, guested);
  await calls.connected(guested, "guest", `${instance.id}.g1`);
  await calls.connected(guested, "host", `${instance.id}.h1`);
  await calls.activate(guested);
  await advance(app, clock, MIN);
  await calls.end({ kind: "user", id: ines }, guested);
  await app.services.tick(); // the notices
  const someoneElsesCall = await activeCallInDomain(app, other.id, otherLink.short_code, "x");

  // Records the provider's events would make: a refund, a dispute, a payout, the customer, the connected account.
  const at = new Date(clock.now());
  const paid = await app.db.capture.findFirstOrThrow({ where: { callId: guested } });
  const earned = await app.db.capture.findFirstOrThrow({ where: { callId: hosted.id } });
  await app.db.refund.create({
    data: { id: uuidv7(clock), captureId: paid.id, callId: paid.callId, hostId: paid.hostId, guestId: paid.guestId, providerRef: "re_1", amountCents: 100, feeCents: 7, netCents: 93, reason: "requested_by_customer", status: "succeeded", createdAt: at },
  });
  await app.db.dispute.create({
    data: { id: uuidv7(clock), captureId: earned.id, hostId: ines, providerRef: "dp_1", amountCents: 600, status: "needs_response", reason: "fraudulent", statusAt: at, createdAt: at, updatedAt: at },
  });
  await app.db.payout.create({ data: { id: uuidv7(clock), userId: ines, providerRef: "po_1", amountCents: 500, currency: "usd", status: "paid", statusAt: at, createdAt: at } });
  await app.db.paymentCustomer.create({ data: { ownerKind: "user", ownerId: ines, customerRef: "cus_ines", createdAt: at } });
  await app.db.connectAccount.create({
    data: { userId: ines, accountRef: "acct_ines", chargesEnabled: true, payoutsEnabled: true, detailsSubmitted: true, requirementsDue: [], statusAt: at, createdAt: at, updatedAt: at },
  });

  const res = await exportOf(app, token);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers["x-ratelimit-limit"], "5");
  const doc = res.json();

  t.match(doc.profile, { id: s.user.id, email: EMAIL, username: "ines", display_name: "Ines", role: "host", avatar_url: avatar.json().avatar_url });
  t.equal(doc.exported_at, new Date(clock.now()).toISOString());
  t.equal(doc.sessions.length, 2, "the registration's session and the login's");
  t.same(new Set(doc.sessions.map((x: { session_id: string }) => x.session_id)).size, 2);
  t.match(doc.mail_tokens, [{ purpose: "verify_email", used_at: String }]);
  t.same(doc.images.map((i: { url: string }) => i.url), [upload.json().image_url]);
  t.same(doc.links.map((l: { id: string }) => l.id), [link.id]);
  t.same(doc.calls.as_host.map((c: { id: string }) => c.id), [toUlid(hosted.id)]);
  t.same(doc.calls.as_guest.map((c: { id: string }) => c.id), [toUlid(guested)]);
  t.match(doc.calls.as_guest[0], { host: { id: other.ulid, display_name: "Olga" }, guest: { id: s.user.id, display_name: "Ines" }, amount_charged: "3.00" });
  t.same(doc.billing_windows.map((w: { call_id: string; hold_status: string }) => [w.call_id, w.hold_status]).sort(), [
    [toUlid(guested), "captured"],
    [toUlid(hosted.id), "captured"],
  ].sort());
  t.same(doc.payments.map((p: { type: string; amount: string }) => [p.type, p.amount]).sort(), [
    ["charge", "3.00"],
    ["dispute", "6.00"],
    ["earning", "6.00"],
    ["refund", "1.00"],
  ]);
  t.match(doc.payouts, [{ amount: "5.00", status: "paid" }]);
  t.ok(doc.notifications.length >= 3, "call_incoming, call_ended, earning_recorded, payment_captured …");
  t.ok(doc.notifications.some((n: { type: string }) => n.type === "payment_captured"));
  t.ok(doc.notifications.some((n: { type: string }) => n.type === "earning_recorded"));
  t.same(doc.guest_sessions.map((g: { id: string; email: string }) => [g.id, g.email]), [[guestSession.guest.id, EMAIL]], "her guest session, not someone else's");
  t.same(doc.payment_customers.map((c: { customer_ref: string }) => c.customer_ref), ["cus_ines"]);
  t.match(doc.connect_account, { account_ref: "acct_ines", status: "enabled" });
  t.match(doc.audit_events, [{ action: "user.role_changed", actor: { kind: "user", id: admin.ulid }, target: { type: "user", id: s.user.id }, data: { from: "verified_user", to: "host" } }]);

  // Every section of the document is filled (the map of covered tables names them all).
  const sections = new Set(Object.values(ACCOUNT_TABLES).flatMap((c) => (c.section ? [c.section] : [])));
  for (const section of sections) {
    const value = doc[section];
    const filled = Array.isArray(value) ? value.length > 0 : value && typeof value === "object" && Object.values(value).some((v) => !Array.isArray(v) || v.length > 0);
    t.ok(filled, `section ${section} holds her data`);
  }

  // Nobody else's records, and no secret.
  const text = res.body;
  t.notOk(text.includes(toUlid(someoneElsesCall.id)), "another host's call");
  t.notOk(text.includes("someone@example.test"), "another guest session");
  const user = await app.db.user.findUniqueOrThrow({ where: { id: ines } });
  const hashes = (await app.db.refreshToken.findMany({ where: { userId: ines } })).map((r) => r.tokenHash);
  const mailHashes = (await app.db.mailToken.findMany({ where: { userId: ines } })).map((m) => m.tokenHash);
  for (const secret of [user.passwordHash, session.refresh_token, s.refresh_token, digest(session.refresh_token), token, vapp, ...hashes, ...mailHashes]) {
    t.notOk(text.includes(secret), `no secret (${secret.slice(0, 12)}…)`);
  }
  t.notOk(/password_hash|token_hash|passwordHash|tokenHash/.test(text), "no secret field");
});

t.test("every table is classified (covered by the export and deletion, or unrelated with a reason), and every column of users", async (t) => {
  const { app } = await testApp(t);
  const tables = (await tableNames(app)).filter((n) => !MIGRATION_BOOKKEEPING.has(n));
  const foreignKeys = await app.db.$queryRawUnsafe<{ child: string; parent: string }[]>(
    `SELECT cl.relname::text AS child, pl.relname::text AS parent
     FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_class pl ON pl.oid = c.confrelid
     WHERE c.contype = 'f' AND c.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`,
  );
  const columns = await app.db.$queryRawUnsafe<{ table: string; column: string }[]>(
    `SELECT table_name::text AS "table", column_name::text AS "column" FROM information_schema.columns WHERE table_schema = current_schema()`,
  );

  // Rows about an account: a foreign key to users, or to a table whose rows are (calls, captures …),
  // followed to the end; or a column that holds a user's id by its name.
  const linked = new Set(["users"]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const fk of foreignKeys) {
      if (linked.has(fk.parent) && !linked.has(fk.child)) {
        linked.add(fk.child);
        grew = true;
      }
    }
  }
  const USER_COLUMN = /(^|_)(user|host|guest|owner|actor|principal|payer|payee|account_owner)_id$/;
  for (const c of columns) if (USER_COLUMN.test(c.column)) linked.add(c.table);

  // The detection sees what it must (directly, through calls and captures, and by column).
  for (const table of ["refresh_tokens", "call_links", "calls", "billing_windows", "captures", "refunds", "disputes", "payouts", "payment_customers", "connect_accounts", "audit_log", "media_uploads"]) {
    t.ok(linked.has(table), `${table} is detected as referring to accounts`);
  }

  const covered = new Set(Object.keys(ACCOUNT_TABLES));
  const missing = [...linked].filter((table) => !covered.has(table)).sort();
  t.same(missing, [], "every table referring to accounts has an entry in ACCOUNT_TABLES (src/domain/personal-data.ts): an export section, or why it has none");
  const stale = [...covered].filter((table) => !tables.includes(table)).sort();
  t.same(stale, [], "every entry of ACCOUNT_TABLES is a table of the schema");

  // Every table, of any kind, is classified: about accounts, or unrelated with a reason. The
  // detection above cannot see a table that names a person without a user's id (an e-mail column,
  // say); this makes whoever adds a table decide.
  const unrelated = new Set(Object.keys(UNRELATED_TABLES));
  t.same(tables.filter((table) => !covered.has(table) && !unrelated.has(table)).sort(), [], "every table is in ACCOUNT_TABLES or UNRELATED_TABLES (src/domain/personal-data.ts)");
  t.same([...unrelated].filter((table) => covered.has(table) || linked.has(table)).sort(), [], "no table is both, nor unrelated while it refers to accounts");
  t.same([...unrelated].filter((table) => !tables.includes(table)).sort(), [], "every entry of UNRELATED_TABLES is a table of the schema");
  for (const [table, reason] of Object.entries(UNRELATED_TABLES)) t.ok(reason.length > 20, `${table}: why it holds nothing about an account`);

  // Every column of users is wiped by the deletion, or kept with a reason.
  const userColumns = columns.filter((c) => c.table === "users").map((c) => c.column).sort();
  t.same(userColumns, Object.keys(USER_COLUMNS).sort(), "every column of users, and only those, is classified in USER_COLUMNS (src/domain/personal-data.ts)");
  for (const [column, c] of Object.entries(USER_COLUMNS) as [string, { wiped?: string; kept?: string }][]) {
    t.ok(c.wiped !== undefined || (c.kept?.length ?? 0) > 10, `users.${column}: wiped, or why it is kept`);
  }

  // The sections the map names are the document's, as openapi.yaml describes it.
  const { dereferenced } = await loadContract();
  const documented = Object.keys(dereferenced.components.schemas.AccountExport.properties as object);
  for (const [table, coverage] of Object.entries(ACCOUNT_TABLES)) {
    if (coverage.section) t.ok(documented.includes(coverage.section), `${table} → ${coverage.section}, a documented section`);
    else t.ok(coverage.notExported.length > 20, `${table}: why it is not exported`);
  }
});

t.test("5 exports per hour per account; guests and strangers are refused", async (t) => {
  const { app, clock } = await testApp(t);
  const a = await register(app, "a@example.test");
  const b = await register(app, "b@example.test");
  for (let i = 0; i < 5; i++) t.equal((await exportOf(app, a.access_token)).statusCode, 200, `export ${i + 1}`);
  const limited = await exportOf(app, a.access_token);
  t.equal(limited.statusCode, 429);
  t.same(limited.json(), errorBody("rate_limited", "Too many requests. Try again later."));
  t.ok(Number(limited.headers["retry-after"]) > 3000, "try again within the hour");
  // Another account has its own budget. One with nothing but its profile and session: every section present, empty.
  const other = await exportOf(app, b.access_token);
  t.equal(other.statusCode, 200, "another account has its own budget");
  t.match(other.json(), { links: [], calls: { as_host: [], as_guest: [] }, payments: [], images: [], connect_account: null, guest_sessions: [], audit_events: [] });
  t.equal(other.json().sessions.length, 1);
  t.equal((await app.inject({ method: "GET", url: "/v1/users/me", headers: bearer(a.access_token) })).statusCode, 200, "other operations are not limited by it");
  clock.advance(61 * MIN);
  const again = await login(app, "a@example.test");
  t.equal((await exportOf(app, again.json().access_token)).statusCode, 200, "an hour later");

  const guest = await makeGuest(app);
  const res = await exportOf(app, guest.token);
  t.equal(res.statusCode, 401, "a guest token");
  t.equal((await app.inject({ method: "GET", url: "/v1/users/me/export" })).statusCode, 401, "no token");
});
