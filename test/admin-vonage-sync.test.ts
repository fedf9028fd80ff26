// `npm run admin -- vonage-sync [--apply] [--json]` (scripts/admin.ts, docs/vapp.md "Operator
// sync") against the local Vonage Users API (test/helpers/vonage-server.ts) and a fresh database
// (embedded PGlite in a temporary DATA_DIR, or a new database when DATABASE_URL is set). The
// database is opened by the test only between runs: PGlite is one process (here: one instance) at a time.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import t from "tap";
import { runAdmin } from "../scripts/admin.ts";
import { openDatabase, type Database } from "../src/db/client.ts";
import { SIGNUP_MARKER } from "../src/domain/vonage-accounts.ts";
import { freshDatabaseUrl } from "./helpers/app.ts";
import { startVonageServer } from "./helpers/vonage-server.ts";

type Tap = { teardown(fn: () => unknown): void; fail(msg: string): void };

interface Local {
  username?: string | null;
  displayName?: string;
  imageKey?: string | null;
  vonageUserId?: string | null;
  email?: string;
  deleted?: boolean;
}

async function setup(t: Tap) {
  const vonage = await startVonageServer();
  t.teardown(() => vonage.close());
  const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-vonage-sync-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const databaseUrl = await freshDatabaseUrl(t);
  const base = { NODE_ENV: "test", DATA_DIR: dataDir, LOG_LEVEL: "silent", PUBLIC_URL: "http://media.test", ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };
  const env: Record<string, string> = { ...base, VONAGE_APPLICATION_ID: vonage.applicationId, VONAGE_PRIVATE_KEY: vonage.privateKeyPem, VONAGE_API_BASE: vonage.url };

  /** Opens the database for `fn` only (the command opens it itself). */
  async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    const db = await openDatabase({ databaseUrl, dataDir });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  /** Accounts by username (or e-mail), with their ids. */
  async function seedLocal(accounts: Local[]): Promise<Record<string, string>> {
    const now = new Date();
    const rows = accounts.map((a) => ({
      id: randomUUID(),
      username: a.deleted ? null : (a.username ?? null),
      email: a.email ?? null,
      emailKey: a.email ?? null,
      displayName: a.deleted ? "" : (a.displayName ?? (a.username ? a.username[0]!.toUpperCase() + a.username.slice(1) : "Someone")),
      passwordHash: a.deleted ? "" : "x",
      imageKey: a.imageKey ?? null,
      vonageUserId: a.vonageUserId ?? null,
      createdAt: now,
      updatedAt: now,
      deletedAt: a.deleted ? now : null,
    }));
    await withDb((db) => db.prisma.user.createMany({ data: rows }));
    return Object.fromEntries(rows.map((r, i) => [accounts[i]!.username ?? accounts[i]!.email ?? r.id, r.id]));
  }

  const accountsNow = () =>
    withDb(async (db) => Object.fromEntries((await db.prisma.user.findMany({ where: { username: { not: null } } })).map((u) => [u.username!, u.vonageUserId])));
  const tasksNow = () =>
    withDb(async (db) => (await db.prisma.vonageTask.findMany({ orderBy: [{ kind: "asc" }, { subject: "asc" }] })).map((r) => `${r.kind} ${r.subject}`));

  async function run(args: string[] = [], runEnv: Record<string, string> = env) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runAdmin(["vonage-sync", ...args], runEnv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  }

  /** The requests that change something at Vonage. */
  const writes = () => vonage.requests.filter((r) => r.method !== "GET");
  return { vonage, env, base, databaseUrl, withDb, seedLocal, accountsNow, tasksNow, run, writes };
}

const summary = (s: { accounts: number; users: number; missing?: number; only?: number; differs?: number; remaining?: number }, applied?: { created?: number; linked?: number; queued?: number; failed?: number }) =>
  `summary accounts=${s.accounts} vonage_users=${s.users} missing_at_vonage=${s.missing ?? 0} only_at_vonage=${s.only ?? 0} differs=${s.differs ?? 0}` +
  (applied ? ` created=${applied.created ?? 0} linked=${applied.linked ?? 0} push_queued=${applied.queued ?? 0} failed=${applied.failed ?? 0}` : "") +
  ` remaining=${s.remaining ?? 0}`;

t.test("refused without Vonage mode, with a usage error, or with a key that cannot be read", async (t) => {
  const { base, env, run, vonage } = await setup(t);

  const off = await run([], base);
  t.equal(off.code, 2);
  t.same(off.out, []);
  t.equal(off.err.length, 1);
  t.match(off.err[0], /^vonage-sync: Vonage mode is not configured \(set VONAGE_APPLICATION_ID/);
  t.notMatch(off.err[0], /\n/, "one line");

  const badKey = await run([], { ...base, VONAGE_APPLICATION_ID: vonage.applicationId, VONAGE_PRIVATE_KEY_FILE: path.join(tmpdir(), `missing-${randomUUID()}.pem`) });
  t.equal(badKey.code, 2);
  t.match(badKey.err, [/^vonage-sync: VONAGE_PRIVATE_KEY_FILE=.*cannot be read$/]);

  for (const args of [["--force"], ["--apply", "--apply"], ["apply"]]) {
    const usage = await run(args, env);
    t.equal(usage.code, 2, args.join(" "));
    t.match(usage.err, [/^usage: npm run admin -- promote <email> <role>\n\s+npm run admin -- vonage-sync \[--apply\] \[--json\]/]);
  }
  const none: string[] = [];
  t.equal(await runAdmin([], env, { out: (l) => none.push(l), err: (l) => none.push(l) }), 2);
  t.match(none, [/exit codes/]);
  t.same(vonage.requests, [], "Vonage is not asked");

  // The real command, as an operator runs it.
  const failure = await promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/admin.ts", "vonage-sync"], {
    env: { ...process.env, ...base, VONAGE_APPLICATION_ID: "", VONAGE_PRIVATE_KEY: "", VONAGE_PRIVATE_KEY_FILE: "" },
  }).catch((e: unknown) => e as { code: number; stderr: string });
  t.match(failure, { code: 2, stderr: /^vonage-sync: Vonage mode is not configured/ });
});

t.test("in sync: only the summary, nothing changed", async (t) => {
  const { vonage, seedLocal, run, writes, tasksNow } = await setup(t);
  const alice = vonage.seed({ name: "alice", display_name: "Alice" });
  const bob = vonage.seed({ name: "bob", display_name: "Bob" });
  const linkedV1 = vonage.seed({ name: "v1-someone", display_name: "Whoever" });
  await seedLocal([
    { username: "alice", vonageUserId: alice.id },
    { username: "bob", vonageUserId: bob.id, imageKey: `${randomUUID()}.webp` },
    { email: "v1@example.com", vonageUserId: linkedV1.id }, // no username: not compared, but its user is not "only at Vonage"
    { deleted: true }, // a tombstone
  ]);

  const r = await run();
  t.equal(r.code, 0, "in sync");
  t.same(r.out, [summary({ accounts: 2, users: 3 })]);
  t.same(r.err, []);
  const applied = await run(["--apply"]);
  t.equal(applied.code, 0);
  t.same(applied.out, [summary({ accounts: 2, users: 3 }, {})]);
  t.same(writes(), [], "nothing written at Vonage");
  t.same(await tasksNow(), [], "no task");
  t.match(vonage.requests, [{ method: "GET", path: "/v1/users", query: { page_size: "100" } }, { method: "GET", path: "/v1/users" }]);
});

t.test("missing at Vonage: reported; --apply creates the users with the account's fields and links them", async (t) => {
  const { vonage, seedLocal, run, writes, accountsNow, tasksNow } = await setup(t);
  const zed = vonage.seed({ name: "zed", display_name: "Zed" });
  const imageKey = `${randomUUID()}.webp`;
  const ids = await seedLocal([
    { username: "alice", displayName: "Alice A.", imageKey },
    { username: "bob", vonageUserId: "USR-00000000-0000-4000-8000-000000000000" }, // its user was deleted at Vonage
    { username: "zed", vonageUserId: zed.id },
  ]);

  const report = await run();
  t.equal(report.code, 3, "differences remain");
  t.same(report.out, [
    `missing-at-vonage account=${ids.alice} name="alice" linked=null`,
    `missing-at-vonage account=${ids.bob} name="bob" linked=USR-00000000-0000-4000-8000-000000000000`,
    summary({ accounts: 3, users: 1, missing: 2, remaining: 2 }),
  ]);
  t.same(writes(), [], "nothing made without --apply");
  t.same(await accountsNow(), { alice: null, bob: "USR-00000000-0000-4000-8000-000000000000", zed: zed.id });

  const applied = await run(["--apply"]);
  t.equal(applied.code, 0, "every difference fixed");
  const made = [...vonage.users.values()].filter((u) => u.id !== zed.id);
  t.match(made, [
    { name: "alice", display_name: "Alice A.", image_url: `http://media.test/media/${imageKey}` },
    { name: "bob", display_name: "Bob" },
  ]);
  t.notOk("image_url" in made[1]!, "no picture, no image_url");
  const [aliceUser, bobUser] = made;
  t.same(applied.out, [
    `missing-at-vonage account=${ids.alice} name="alice" linked=null`,
    `missing-at-vonage account=${ids.bob} name="bob" linked=USR-00000000-0000-4000-8000-000000000000`,
    `created account=${ids.alice} user=${aliceUser!.id} name="alice"`,
    `created account=${ids.bob} user=${bobUser!.id} name="bob"`,
    summary({ accounts: 3, users: 1, missing: 2 }, { created: 2 }),
  ]);
  t.same(await accountsNow(), { alice: aliceUser!.id, bob: bobUser!.id, zed: zed.id }, "linked");
  t.match(
    vonage.requests.filter((r) => r.path !== "/v1/users" || r.method !== "GET"),
    [
      { method: "POST", path: "/v1/users", status: 201 },
      { method: "GET", path: "/v1/users/USR-00000000-0000-4000-8000-000000000000", status: 404 },
      { method: "POST", path: "/v1/users", status: 201 },
    ],
    "alice's user made; bob's confirmed gone before another is made",
  );
  t.same(
    await tasksNow(),
    [`delete USR-00000000-0000-4000-8000-000000000000`, `push ${ids.alice}`, `push ${ids.bob}`].sort(),
    "the trigger's work for the running server: a push each, and the old user's deletion",
  );

  const again = await run(["--apply"]);
  t.equal(again.code, 0);
  t.same(again.out, [summary({ accounts: 3, users: 3 }, {})], "a second run finds nothing");
  t.equal(vonage.users.size, 3);
});

t.test("linking by name, and what --apply refuses to link or create", async (t) => {
  const { vonage, seedLocal, run, writes, accountsNow, withDb } = await setup(t);
  const carol = vonage.seed({ name: "carol", display_name: "C." });
  // A signup under way made this one (its intent is still there): that signup decides about it.
  const dora = vonage.seed({ name: "dora", display_name: "Dora" });
  const marker = randomUUID();
  dora.properties.custom_data = { [SIGNUP_MARKER]: marker };
  // erin's name is frank's user's at Vonage (frank's push of his own name is pending).
  const erinsName = vonage.seed({ name: "erin", display_name: "Frank" });
  // jack's push of his new name would be refused: another user has it.
  const jackOld = vonage.seed({ name: "jack-old", display_name: "Jack" });
  const jackTaken = vonage.seed({ name: "jack", display_name: "Someone else" });
  // A deleted account's user, its deletion at Vonage still to come: gina may not have it.
  const ginasName = vonage.seed({ name: "gina", display_name: "Deleted" });
  const ids = await seedLocal([
    { username: "gina" },
    { username: "carol", displayName: "Carol" },
    { username: "dora" },
    { username: "erin" },
    { username: "frank", vonageUserId: erinsName.id },
    { username: "jack", vonageUserId: jackOld.id },
  ]);
  await withDb((db) => db.prisma.vonageTask.create({ data: { id: marker, kind: "signup", subject: marker, name: "dora", dueAt: new Date(Date.now() + 120_000), createdAt: new Date() } }));
  await withDb((db) => db.prisma.vonageTask.create({ data: { id: randomUUID(), kind: "delete", subject: ginasName.id, dueAt: new Date(Date.now() + 600_000), createdAt: new Date() } }));

  const differences = [
    `missing-at-vonage account=${ids.carol} name="carol" linked=null linkable=${carol.id}`,
    `missing-at-vonage account=${ids.dora} name="dora" linked=null linkable=${dora.id}`,
    `missing-at-vonage account=${ids.erin} name="erin" linked=null name_taken_by=${erinsName.id} taken_by_account=${ids.frank}`,
    `missing-at-vonage account=${ids.gina} name="gina" linked=null linkable=${ginasName.id}`,
    `only-at-vonage user=${jackTaken.id} name="jack" display_name="Someone else"`,
    `differs account=${ids.frank} user=${erinsName.id} name="frank" vonage_name="erin" push=none`,
    `differs account=${ids.jack} user=${jackOld.id} name="jack" vonage_name="jack-old" push=none name_taken_by=${jackTaken.id}`,
  ];
  const report = await run();
  t.equal(report.code, 3);
  t.same(report.out, [...differences, summary({ accounts: 6, users: 6, missing: 4, only: 1, differs: 2, remaining: 7 })]);

  const applied = await run(["--apply"]);
  t.equal(applied.code, 1, "some could not be fixed");
  t.same(applied.out, [
    ...differences,
    `linked account=${ids.carol} user=${carol.id} name="carol"`,
    `failed account=${ids.dora} name="dora" reason="${dora.id} has the name but belongs to a signup under way; run again later"`,
    `failed account=${ids.erin} name="erin" reason="name taken at Vonage by ${erinsName.id} (account ${ids.frank})"`,
    `failed account=${ids.gina} name="gina" reason="${ginasName.id} has the name but is a deleted account's, waiting to be deleted at Vonage; not linked"`,
    `push-queued account=${ids.frank} user=${erinsName.id}`,
    `failed account=${ids.jack} name="jack" reason="name taken at Vonage by ${jackTaken.id}: a push would be refused"`,
    summary({ accounts: 6, users: 6, missing: 4, only: 1, differs: 2, remaining: 5 }, { linked: 1, queued: 1, failed: 4 }),
  ]);
  t.same(writes(), [], "linking needs no write at Vonage, and nothing was created");
  t.same(await accountsNow(), { carol: carol.id, dora: null, erin: null, frank: erinsName.id, gina: null, jack: jackOld.id });

  // Linked: the trigger's push will send carol's display name; until then the difference shows, pending.
  const after = await run();
  t.equal(after.code, 3);
  t.ok(after.out.includes(`differs account=${ids.carol} user=${carol.id} display_name="Carol" vonage_display_name="C." push=pending`), "the display name differs until the push is sent");
});

t.test("only at Vonage: reported, never touched", async (t) => {
  const { vonage, seedLocal, run, writes } = await setup(t);
  const ghost = vonage.seed({ name: "ghost", display_name: "Ghost" });
  const nameless = vonage.seed({ name: "anon" });
  const kept = vonage.seed({ name: "kept", display_name: "Kept" });
  await seedLocal([{ username: "kept", vonageUserId: kept.id }]);

  const lines = [`only-at-vonage user=${nameless.id} name="anon" display_name=null`, `only-at-vonage user=${ghost.id} name="ghost" display_name="Ghost"`];
  const report = await run();
  t.equal(report.code, 3);
  t.same(report.out, [...lines, summary({ accounts: 1, users: 3, only: 2, remaining: 2 })]);
  const applied = await run(["--apply"]);
  t.equal(applied.code, 3, "still there after --apply: an operator decides");
  t.same(applied.out, [...lines, summary({ accounts: 1, users: 3, only: 2, remaining: 2 }, {})]);
  t.same(writes(), []);
  t.equal(vonage.users.size, 3);

  const json = await run(["--json", "--apply"]);
  t.equal(json.code, 3);
  t.same(
    json.out.map((l) => JSON.parse(l) as unknown),
    [
      { kind: "only-at-vonage", user: nameless.id, name: "anon", display_name: null },
      { kind: "only-at-vonage", user: ghost.id, name: "ghost", display_name: "Ghost" },
      { kind: "summary", accounts: 1, vonage_users: 3, missing_at_vonage: 0, only_at_vonage: 2, differs: 0, created: 0, linked: 0, push_queued: 0, failed: 0, remaining: 2 },
    ],
  );
});

t.test("differs: reported; --apply queues a push for the running server and changes nothing at Vonage", async (t) => {
  const { vonage, seedLocal, run, writes, tasksNow } = await setup(t);
  const hank = vonage.seed({ name: "hank", display_name: "Henry" });
  const ivy = vonage.seed({ name: "ivy-old" });
  const ids = await seedLocal([
    { username: "hank", displayName: "Hank", vonageUserId: hank.id },
    { username: "ivy", displayName: "Ivy \"the\" Great", vonageUserId: ivy.id },
  ]);

  const lines = [
    `differs account=${ids.hank} user=${hank.id} display_name="Hank" vonage_display_name="Henry" push=none`,
    `differs account=${ids.ivy} user=${ivy.id} name="ivy" vonage_name="ivy-old" display_name="Ivy \\"the\\" Great" vonage_display_name=null push=none`,
  ];
  const report = await run();
  t.equal(report.code, 3);
  t.same(report.out, [...lines, summary({ accounts: 2, users: 2, differs: 2, remaining: 2 })]);

  const applied = await run(["--apply"]);
  t.equal(applied.code, 0, "handed to the server");
  t.same(applied.out, [
    ...lines,
    `push-queued account=${ids.hank} user=${hank.id}`,
    `push-queued account=${ids.ivy} user=${ivy.id}`,
    summary({ accounts: 2, users: 2, differs: 2 }, { queued: 2 }),
  ]);
  t.same(await tasksNow(), [`push ${ids.hank}`, `push ${ids.ivy}`].sort());
  t.same(writes(), [], "the push is the server's");
  t.match((await run()).out[0], / push=pending$/, "until the server sends it");
});

t.test("pages: 150 users read in two pages of 100, following _links.next", async (t) => {
  const { vonage, seedLocal, run } = await setup(t);
  const remote = Array.from({ length: 150 }, (_, i) => vonage.seed({ name: `user-${String(i).padStart(3, "0")}`, display_name: `User ${i}` }));
  // Every one linked but the last (on the second page).
  await seedLocal(remote.slice(0, 149).map((u, i) => ({ username: u.name, displayName: `User ${i}`, vonageUserId: u.id })));

  const r = await run();
  t.equal(r.code, 3);
  t.same(r.out, [`only-at-vonage user=${remote[149]!.id} name="user-149" display_name="User 149"`, summary({ accounts: 149, users: 150, only: 1, remaining: 1 })]);
  const lists = vonage.requests.filter((q) => q.method === "GET" && q.path === "/v1/users");
  t.equal(lists.length, 2);
  t.same(lists[0]!.query, { page_size: "100" });
  t.match(lists[1]!.query, { page_size: "100", cursor: /./ }, "the next link's cursor, at page_size=100");
  t.same(vonage.requests.length, 2);
});

t.test("Vonage failing: a listing that fails changes nothing; a create that fails leaves its account unlinked", async (t) => {
  const { vonage, seedLocal, run, writes, accountsNow } = await setup(t);
  const ids = await seedLocal([{ username: "kim" }, { username: "lee" }, { username: "mia" }]);

  vonage.fail(1, "service_unavailable", { method: "GET", path: "/v1/users" });
  const down = await run(["--apply"]);
  t.equal(down.code, 1);
  t.same(down.out, []);
  t.same(down.err, ["vonage-sync: cannot list the application's users, nothing compared or changed: vonage GET /v1/users: 503 Service Unavailable"]);
  t.same(writes(), []);

  // kim's create is refused with a 503 (not made); mia's is made but its answer is lost.
  vonage.fail(1, "service_unavailable", { method: "POST" });
  const partial = await run(["--apply"]);
  t.equal(partial.code, 1, "one account could not be fixed");
  const lee = [...vonage.users.values()].find((u) => u.name === "lee")!;
  t.ok(lee);
  t.same(partial.out.slice(3), [
    `failed account=${ids.kim} name="kim" reason="vonage POST /v1/users: 503 Service Unavailable; nothing made"`,
    `created account=${ids.lee} user=${lee.id} name="lee"`,
    `created account=${ids.mia} user=${[...vonage.users.values()].find((u) => u.name === "mia")!.id} name="mia"`,
    summary({ accounts: 3, users: 0, missing: 3, remaining: 1 }, { created: 2, failed: 1 }),
  ]);
  t.same([...vonage.users.values()].map((u) => u.name), ["lee", "mia"], "no half-made user");
  t.same(await accountsNow(), { kim: null, lee: lee.id, mia: [...vonage.users.values()][1]!.id });

  vonage.fail(1, "lost_response", { method: "POST" });
  const lost = await run(["--apply"]);
  t.equal(lost.code, 0, "fixed");
  const kim = [...vonage.users.values()].find((u) => u.name === "kim")!;
  t.same(lost.out.slice(1), [`created account=${ids.kim} user=${kim.id} name="kim" found_by_name=1`, summary({ accounts: 3, users: 2, missing: 1 }, { created: 1 })], "its answer lost, the user is found by name");
  t.equal(vonage.users.size, 3, "one user each");
  t.equal((await accountsNow()).kim, kim.id);
  t.equal((await run()).code, 0);
});

t.test("an account changed while its user was being made: the user is deleted again", { skip: !process.env.DATABASE_URL && "needs PostgreSQL (DATABASE_URL): PGlite has one connection, held by the command" }, async (t) => {
  const { vonage, seedLocal, run, databaseUrl, accountsNow } = await setup(t);
  const ids = await seedLocal([{ username: "nina" }]);
  vonage.delay(300, 1, { method: "POST" });
  const running = run(["--apply"]);
  while (!vonage.requests.some((r) => r.method === "POST")) await new Promise((resolve) => setTimeout(resolve, 10));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`UPDATE "users" SET "username" = 'nina2' WHERE "id" = $1`, [ids.nina]);
  await client.end();
  const r = await running;
  t.equal(r.code, 1);
  const made = vonage.requests.find((q) => q.method === "POST")!;
  t.equal(made.status, 201);
  t.match(r.out.at(-2), new RegExp(`^failed account=${ids.nina} name="nina" reason="the account changed meanwhile \\(renamed, deleted or linked\\); USR-[0-9a-f-]+ made at Vonage and deleted again"$`));
  t.equal(vonage.users.size, 0);
  t.same(await accountsNow(), { nina2: null });
});
