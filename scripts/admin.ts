// Operator commands (USAGE below): `promote <email> <role>` and `vonage-sync [--apply] [--json]`.
// Reads the same configuration as the server (DATA_DIR / DATABASE_URL …) and opens the database the
// same way (applying pending migrations). With the embedded database, stop the server first: PGlite
// is opened by one process at a time. A role change is recorded in the audit log (actor: system),
// in the same transaction.
//
// vonage-sync (Vonage mode, docs/vapp.md "Operator sync") compares the live accounts that have a
// username with the Vonage application's users, read in full first (local side, then every page of
// 100 following `_links.next`), and reports the differences; nothing changes without --apply.
// --apply gives each account missing at Vonage a user (an unlinked one with its exact name is linked,
// else one is created) and stores its id with an UPDATE conditional on what was read (the users
// trigger then writes the `push` task that the running server sends); it queues a push for each
// account that differs. It never deletes or renames a Vonage user that no account has.
import { pathToFileURL } from "node:url";
import { loadConfig } from "../src/config.ts";
import { openDatabase, type Sql } from "../src/db/client.ts";
import { emailKeyOf, roleProblem } from "../src/domain/accounts.ts";
import { audit } from "../src/domain/audit.ts";
import { KeyConfigError, loadApplicationKey } from "../src/domain/keys.ts";
import { systemClock } from "../src/domain/ports/clock.ts";
import type { Storage } from "../src/domain/ports/storage.ts";
import {
  VonageDuplicateName,
  VonageUnavailable,
  VonageUserNotFound,
  VonageUsersError,
  type VonageUserSummary,
  type VonageUsers,
} from "../src/domain/ports/vonage-users.ts";
import { USER_ROLES, type UserRole } from "../src/domain/principal.ts";
import { queuePush, SIGNUP_MARKER } from "../src/domain/vonage-accounts.ts";
import { localStorage } from "../src/adapters/storage/local.ts";
import { s3Storage } from "../src/adapters/storage/s3.ts";
import { vonageUsers } from "../src/adapters/vonage/users.ts";

const USAGE = `usage: npm run admin -- promote <email> <role>
       npm run admin -- vonage-sync [--apply] [--json]
  promote       gives an account a role: ${USER_ROLES.join(", ")}
  vonage-sync   (Vonage mode) compares the accounts that have a username with the Vonage
                application's users and prints one line per difference, sorted by name:
                  missing-at-vonage  an account without a Vonage user, or whose user is gone
                  only-at-vonage     a Vonage user that no account has or could have by its
                                     name (never changed or deleted)
                  differs            name or display_name differ (a push is pending or owed)
                then a summary line. Nothing changes without --apply, which links an account to
                the unlinked Vonage user with its exact name, else creates its user (name,
                display_name, image_url), and queues a push (sent by the running server) for each
                account that differs. --json prints each line as a JSON object.
  exit codes    0 done (vonage-sync: nothing left to do), 1 failed (vonage-sync: Vonage could not
                be listed, or --apply could not fix an account: see its \`failed\` line),
                2 usage or configuration, 3 (vonage-sync) differences remain: any without
                --apply; with it, users only at Vonage`;

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** Runs one command; returns the process exit code (0 done, 1 failed, 2 usage, 3 differences remain). */
export async function runAdmin(argv: string[], env: Record<string, string | undefined>, io: Io): Promise<number> {
  const [command, ...args] = argv;
  if (command === "promote") return promote(args, env, io);
  if (command === "vonage-sync") return vonageSync(args, env, io);
  io.err(USAGE);
  return 2;
}

async function promote(args: string[], env: Record<string, string | undefined>, io: Io): Promise<number> {
  const [email, role, ...rest] = args;
  if (!email || !role || rest.length > 0) {
    io.err(USAGE);
    return 2;
  }
  if (!(USER_ROLES as readonly string[]).includes(role)) {
    io.err(`unknown role "${role}"\n${USAGE}`);
    return 2;
  }
  const config = loadConfig(env);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const user = await db.prisma.user.findUnique({ where: { emailKey: emailKeyOf(email) } });
    if (!user) {
      io.err(`no account has the e-mail ${email.trim()}`);
      return 1;
    }
    if (user.role === role) {
      io.out(`${user.email} already has the role ${role}`);
      return 0;
    }
    const problem = roleProblem(user, role as UserRole);
    if (problem) {
      io.err(`${user.email}: ${problem} (the account's owner confirms it from the mail sent at registration)`);
      return 1;
    }
    const log = audit({ db: db.prisma, sql: db.sql, clock: systemClock });
    const changed = await db.prisma.$transaction(async (tx) => {
      // Only from the role read above, so that the recorded `from` is the one replaced.
      const { count } = await tx.user.updateMany({ where: { id: user.id, role: user.role }, data: { role: role as UserRole, updatedAt: new Date(systemClock.now()) } });
      if (count === 0) return false;
      await log.record({ action: "user.role_changed", actor: { kind: "system" }, target: { type: "user", id: user.id }, data: { from: user.role, to: role as UserRole } }, tx);
      return true;
    });
    if (!changed) {
      io.err(`${user.email}: the account changed meanwhile; try again`);
      return 1;
    }
    io.out(`${user.email}: ${user.role} → ${role} (effective from the account's next access token)`);
    return 0;
  } finally {
    await db.close();
  }
}

// ---- vonage-sync ----

/** A row of `users` as the sync reads it. */
interface Account {
  id: string;
  username: string | null;
  displayName: string;
  imageKey: string | null;
  vonageUserId: string | null;
  /** Not deleted, with a username: the sync's local side. */
  live: boolean;
}
type LiveAccount = Account & { username: string };

/** One output line: `kind key=value …` (ids and numbers bare, text JSON-quoted), or one JSON object. */
interface Line {
  kind: string;
  fields: [string, string | number | null][];
}
const BARE = new Set(["account", "user", "linked", "linkable", "name_taken_by", "taken_by_account", "push"]);

function render(line: Line, json: boolean): string {
  if (json) return JSON.stringify({ kind: line.kind, ...Object.fromEntries(line.fields) });
  const value = (key: string, v: string | number | null) => (v === null ? "null" : typeof v === "number" || BARE.has(key) ? String(v) : JSON.stringify(v));
  return [line.kind, ...line.fields.map(([k, v]) => `${k}=${value(k, v)}`)].join(" ");
}

/** Code-point order (not the locale's): the same output everywhere. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function vonageSync(args: string[], env: Record<string, string | undefined>, io: Io): Promise<number> {
  if (args.some((a) => a !== "--apply" && a !== "--json") || new Set(args).size !== args.length) {
    io.err(USAGE);
    return 2;
  }
  const apply = args.includes("--apply");
  const json = args.includes("--json");
  const config = loadConfig(env);
  const application = config.vonage.application;
  if (!application) {
    io.err("vonage-sync: Vonage mode is not configured (set VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY or VONAGE_PRIVATE_KEY_FILE, as for the server)");
    return 2;
  }
  let privateKeyPem: string;
  try {
    privateKeyPem = loadApplicationKey(application).privateKeyPem;
  } catch (err) {
    if (!(err instanceof KeyConfigError)) throw err;
    io.err(`vonage-sync: ${err.message}`);
    return 2;
  }
  const users = vonageUsers({ applicationId: application.id, privateKeyPem, apiBase: config.vonage.apiBase, now: () => systemClock.now() });
  // Pictures' public URLs, as the server sends them (media.url is the storage's publicUrl).
  const storage: Storage = config.storage.driver === "s3" ? s3Storage(config.storage, config.publicUrl) : localStorage(config.dataDir, config.publicUrl);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await sync({ sql: db.sql, users, imageUrl: (key) => storage.publicUrl(key), apply, print: (line) => io.out(render(line, json)), fatal: (msg) => io.err(`vonage-sync: ${msg}`) });
  } finally {
    await db.close();
  }
}

async function sync(deps: {
  sql: Sql;
  users: VonageUsers;
  imageUrl: (key: string) => string;
  apply: boolean;
  print: (line: Line) => void;
  fatal: (message: string) => void;
}): Promise<number> {
  const { sql, users, imageUrl, apply, print } = deps;

  // The local side first: a signup finishing during the listing then shows as only-at-vonage
  // (reported, never acted on) rather than as an account whose user is missing.
  const rows = await sql.query<Account>(
    `SELECT "id", "username", "display_name" AS "displayName", "image_key" AS "imageKey", "vonage_user_id" AS "vonageUserId",
            ("deleted_at" IS NULL AND "username" IS NOT NULL) AS "live"
     FROM "users" WHERE "vonage_user_id" IS NOT NULL OR ("deleted_at" IS NULL AND "username" IS NOT NULL)`,
  );
  const pushPending = new Set((await sql.query<{ subject: string }>(`SELECT "subject" FROM "vonage_tasks" WHERE "kind" = 'push'`)).map((r) => r.subject));
  const remote: VonageUserSummary[] = [];
  try {
    for await (const page of users.pages()) remote.push(...page);
  } catch (err) {
    if (!(err instanceof VonageUsersError)) throw err;
    deps.fatal(`cannot list the application's users, nothing compared or changed: ${err.message}`);
    return 1;
  }

  const accounts = rows.filter((a): a is LiveAccount => a.live).sort((a, b) => byText(a.username, b.username) || byText(a.id, b.id));
  const remoteById = new Map(remote.map((u) => [u.id, u]));
  const remoteByName = new Map(remote.map((u) => [u.name, u]));
  // Every account that has a user, live with a username or not: their users are not "only at Vonage".
  const accountByLink = new Map(rows.filter((a) => a.vonageUserId).map((a) => [a.vonageUserId!, a]));

  const missing = accounts.filter((a) => !a.vonageUserId || !remoteById.has(a.vonageUserId));
  // An unlinked user with the name of an account missing at Vonage is that account's (`linkable`,
  // on its line): one difference, reported once.
  const linkable = new Set(missing.map((a) => remoteByName.get(a.username)?.id).filter((id) => id !== undefined && !accountByLink.has(id)));
  const onlyAtVonage = remote.filter((u) => !accountByLink.has(u.id) && !linkable.has(u.id)).sort((a, b) => byText(a.name, b.name) || byText(a.id, b.id));
  const differs = accounts.filter((a) => {
    const u = a.vonageUserId ? remoteById.get(a.vonageUserId) : undefined;
    return u && (u.name !== a.username || u.displayName !== a.displayName);
  });
  /** Another user of the application with the account's name (a create, or a push of the name, would be refused). */
  const nameTakenBy = (a: LiveAccount) => {
    const u = remoteByName.get(a.username);
    return u && u.id !== a.vonageUserId ? u : undefined;
  };

  for (const a of missing) {
    const same = nameTakenBy(a);
    const owner = same && accountByLink.get(same.id);
    print({
      kind: "missing-at-vonage",
      fields: [
        ["account", a.id],
        ["name", a.username],
        ["linked", a.vonageUserId],
        ...(same && !owner ? [["linkable", same.id] as [string, string]] : []),
        ...(same && owner ? ([["name_taken_by", same.id], ["taken_by_account", owner.id]] as [string, string][]) : []),
      ],
    });
  }
  for (const u of onlyAtVonage) {
    print({ kind: "only-at-vonage", fields: [["user", u.id], ["name", u.name], ["display_name", u.displayName]] });
  }
  for (const a of differs) {
    const u = remoteById.get(a.vonageUserId!)!;
    const taken = u.name !== a.username ? nameTakenBy(a) : undefined;
    print({
      kind: "differs",
      fields: [
        ["account", a.id],
        ["user", u.id],
        ...(u.name !== a.username ? ([["name", a.username], ["vonage_name", u.name]] as [string, string][]) : []),
        ...(u.displayName !== a.displayName ? ([["display_name", a.displayName], ["vonage_display_name", u.displayName]] as [string, string | null][]) : []),
        ["push", pushPending.has(a.id) ? "pending" : "none"],
        ...(taken ? [["name_taken_by", taken.id] as [string, string]] : []),
      ],
    });
  }

  const done = { created: 0, linked: 0, pushQueued: 0, failed: 0, fixed: 0 };
  if (apply) {
    const failed = (a: LiveAccount, reason: string): Line => {
      done.failed++;
      return { kind: "failed", fields: [["account", a.id], ["name", a.username], ["reason", reason]] };
    };

    /** Stores the account's user, only if the account is still as read; true when stored. */
    const store = async (a: LiveAccount, userId: string): Promise<true | string> => {
      try {
        const updated = await sql.query(
          `UPDATE "users" SET "vonage_user_id" = $2, "updated_at" = $3
           WHERE "id" = $1::uuid AND "deleted_at" IS NULL AND "username" = $4 AND "vonage_user_id" IS NOT DISTINCT FROM $5::text RETURNING "id"`,
          [a.id, userId, new Date(systemClock.now()), a.username, a.vonageUserId],
        );
        return updated.length === 1 ? true : "the account changed meanwhile (renamed, deleted or linked)";
      } catch (err) {
        return `not stored: ${(err as Error).message}`; // e.g. the user is another account's since the listing
      }
    };

    /** Links the account to an existing user that has its name. */
    const link = async (a: LiveAccount, userId: string, kind: "linked" | "created"): Promise<Line> => {
      // A deleted account's user, whose deletion waits (Vonage was unreachable): never another's.
      if ((await sql.query(`SELECT 1 FROM "vonage_tasks" WHERE "kind" = 'delete' AND "subject" = $1`, [userId])).length > 0) {
        return failed(a, `${userId} has the name but is a deleted account's, waiting to be deleted at Vonage; not linked`);
      }
      try {
        // A user that a signup under way made (its intent still there) is that signup's: it deletes it if it fails.
        const marker = (await users.get(userId)).customData[SIGNUP_MARKER];
        if (typeof marker === "string" && (await sql.query(`SELECT 1 FROM "vonage_tasks" WHERE "id"::text = $1`, [marker])).length > 0) {
          return failed(a, `${userId} has the name but belongs to a signup under way; run again later`);
        }
      } catch (err) {
        if (err instanceof VonageUserNotFound) return failed(a, `${userId} has the name but was deleted meanwhile; run again`);
        if (err instanceof VonageUsersError) return failed(a, err.message);
        throw err;
      }
      const stored = await store(a, userId);
      if (stored !== true) return failed(a, `${stored}; ${userId} not linked`);
      done[kind]++;
      done.fixed++;
      return { kind, fields: [["account", a.id], ["user", userId], ["name", a.username], ...(kind === "created" ? [["found_by_name", 1] as [string, number]] : [])] };
    };

    const fix = async (a: LiveAccount): Promise<Line | null> => {
      if (a.vonageUserId) {
        // Its user was not listed: made sure it is gone before the account gets another.
        try {
          await users.get(a.vonageUserId);
          print({ kind: "skipped", fields: [["account", a.id], ["user", a.vonageUserId], ["name", a.username], ["reason", "the user exists at Vonage (not in the listing); run again"]] });
          done.fixed++;
          return null;
        } catch (err) {
          if (!(err instanceof VonageUserNotFound)) return failed(a, err instanceof VonageUsersError ? err.message : String(err));
        }
      }
      const same = nameTakenBy(a);
      if (same) {
        const owner = accountByLink.get(same.id);
        if (owner) return failed(a, `name taken at Vonage by ${same.id} (account ${owner.id})`);
        return link(a, same.id, "linked");
      }
      let userId: string;
      try {
        userId = (await users.create({ name: a.username, displayName: a.displayName, ...(a.imageKey ? { imageUrl: imageUrl(a.imageKey) } : {}) })).id;
      } catch (err) {
        if (err instanceof VonageDuplicateName) {
          const by = await users.findByName(a.username).catch(() => null);
          return failed(a, `name taken at Vonage by ${by?.id ?? "a user made since the listing"}`);
        }
        if (err instanceof VonageUnavailable) {
          // Made or not: whoever has the name tells.
          let found: VonageUserSummary | null;
          try {
            found = await users.findByName(a.username);
          } catch {
            return failed(a, `${err.message}; the user may have been made: run again (it is then linked by name)`);
          }
          return found ? link(a, found.id, "created") : failed(a, `${err.message}; nothing made`);
        }
        if (err instanceof VonageUsersError) return failed(a, err.message);
        throw err;
      }
      const stored = await store(a, userId);
      if (stored === true) {
        done.created++;
        done.fixed++;
        return { kind: "created", fields: [["account", a.id], ["user", userId], ["name", a.username]] };
      }
      try {
        await users.delete(userId);
      } catch (err) {
        if (!(err instanceof VonageUserNotFound)) {
          return failed(a, `${stored}; ${userId} made at Vonage could not be deleted (${(err as Error).message}): it shows as only-at-vonage`);
        }
      }
      return failed(a, `${stored}; ${userId} made at Vonage and deleted again`);
    };

    for (const a of missing) {
      const line = await fix(a);
      if (line) print(line);
    }
    for (const a of differs) {
      const taken = remoteById.get(a.vonageUserId!)!.name !== a.username ? nameTakenBy(a) : undefined;
      if (taken) {
        print(failed(a, `name taken at Vonage by ${taken.id}: a push would be refused`));
        continue;
      }
      await queuePush(sql, a.id);
      done.pushQueued++;
      done.fixed++;
      print({ kind: "push-queued", fields: [["account", a.id], ["user", a.vonageUserId]] });
    }
  }

  const found = missing.length + onlyAtVonage.length + differs.length;
  const remaining = found - done.fixed;
  print({
    kind: "summary",
    fields: [
      ["accounts", accounts.length],
      ["vonage_users", remote.length],
      ["missing_at_vonage", missing.length],
      ["only_at_vonage", onlyAtVonage.length],
      ["differs", differs.length],
      ...(apply
        ? ([
            ["created", done.created],
            ["linked", done.linked],
            ["push_queued", done.pushQueued],
            ["failed", done.failed],
          ] as [string, number][])
        : []),
      ["remaining", remaining],
    ],
  });
  return done.failed > 0 ? 1 : remaining > 0 ? 3 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await runAdmin(process.argv.slice(2), process.env, {
    out: (l) => console.log(l),
    err: (l) => console.error(l),
  }).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  });
  process.exitCode = code;
}
