// Vonage mode's accounts (docs/vapp.md, "Vonage mode"): every V-app account is also a user of the
// Vonage application (the Users API, ports/vonage-users.ts), and that user's `USR-…` id is the
// account's V-app id (users.vonage_user_id). The session token's `sub` is the account's username,
// which Vonage reads as the user's name: a name is therefore changed at Vonage first (rename), and
// an account gets a username only with its user at Vonage (provision), so that a token never names
// another's user.
//
// Provisioning (signup, or a first username) creates the remote user first and links it second, so
// that an account never names a remote user that does not exist; whatever fails in between,
// nothing is left half-made:
//   - before the remote create, an intent is written (vonage_tasks, kind `signup`: the name, and a
//     marker that the remote user carries in its custom_data); the link's transaction deletes it,
//     and fails when it is gone;
//   - a name Vonage already has → 409, as a name taken here; unless the user that has it is a
//     given-up provisioning's (answered 503, its intent waiting for its check, unclaimed): that
//     one is taken over;
//   - Vonage unreachable, failing or slow (the user may have been made or not): looked up by name.
//     Ours (our marker) → adopted, the provisioning goes on; another's → 409; none → 503, the intent stays;
//   - Vonage refusing (a misconfiguration: a wrong key, a deleted application) → 503, logged as an error;
//   - the link failing: the remote user is deleted, unless the failure may have come after the
//     commit (then the orphan check decides);
//   - an intent still there when due (a crash, a delete that failed, a create that landed after the
//     lookup) becomes an `orphan` task: the remote user with that name and marker is deleted unless
//     an account has it, checked at 2 minutes and once more an hour after the attempt.
// Later changes reach Vonage through tasks that triggers on `users` write in the change's own
// transaction (migration 20261207000000_vonage_users): `push` (the name, display name or picture
// changed: the remote user is updated) and `delete` (the account let go of its remote user: it was
// deleted). Tasks are tried at once (kick) and by the ticker, one run per task at a time across
// instances (claim), retried with backoff (at least Vonage's Retry-After) until done, each failure
// logged; none is dropped unless it cannot succeed, and that is logged as an error.
import { randomUUID } from "node:crypto";
import type { Db, Sql } from "../db/client.ts";
import { isUniqueViolation } from "./accounts.ts";
import { AppError } from "./errors.ts";
import type { Clock } from "./ports/clock.ts";
import {
  VonageDuplicateName,
  VonageRefused,
  VonageUnavailable,
  VonageUserNotFound,
  type VonageUser,
  type VonageUsers,
} from "./ports/vonage-users.ts";

/** The key of the signup's marker in the remote user's custom_data. */
export const SIGNUP_MARKER = "vidivo_signup";
/** When a signup's intent, if still there, is checked for an orphan (well after any signup's requests have timed out). */
export const ORPHAN_CHECK_AFTER_MS = 2 * 60_000;
/** The orphan check's last look, this long after the attempt (a create held up somewhere for longer is not expected). */
export const ORPHAN_LAST_CHECK_MS = 60 * 60_000;
/** A push after an unsettled failure is sent once more this long after its success. */
export const SETTLE_MS = 60_000;
/** How long a claimed task is not claimed again (its work's requests time out well before). */
const CLAIM_MS = 2 * 60_000;
const BATCH = 10;
/** After the n-th failed attempt (n ≥ 1): 10 s, 20 s, 40 s … up to an hour. */
const backoffMs = (attempts: number) => Math.min(3_600_000, 10_000 * 2 ** Math.min(attempts - 1, 20));
/** From this attempt on, a failing task is logged as an error (an operator should look). */
const ALARM_AFTER_ATTEMPTS = 5;

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];
type Log = { info(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void };

interface Task {
  id: string;
  kind: "signup" | "orphan" | "push" | "delete";
  subject: string;
  name: string | null;
  attempts: number;
  version: number;
  unsettled: boolean;
  createdAt: Date;
}

export interface VonageAccountsDeps {
  db: Db;
  sql: Sql;
  clock: Clock;
  users: VonageUsers;
  /** The public URL of a stored picture. */
  imageUrl(key: string): string;
  log: Log;
}

/**
 * Arms a `push` for an account (as the users trigger does on a change): its fields are sent to its
 * Vonage user by the running server.
 */
export const queuePush = (sql: Sql, accountId: string) =>
  sql.query(
    `INSERT INTO "vonage_tasks" ("id", "kind", "subject", "due_at", "created_at") VALUES (gen_random_uuid(), 'push', $1, 'epoch', now())
     ON CONFLICT ("kind", "subject") DO UPDATE SET "due_at" = 'epoch', "version" = "vonage_tasks"."version" + 1`,
    [accountId],
  );

const taken = () => new AppError("conflict", { username: "must be unique" });
/** Vonage cannot do it now: nothing was made or changed here. */
function unavailable(cause: VonageUnavailable | VonageRefused) {
  const retryAfterSeconds = cause instanceof VonageUnavailable ? (cause.retryAfterSeconds ?? 5) : 30;
  return new AppError("service_unavailable", { reason: "vonage_unavailable" }, { retryAfterSeconds, cause });
}

class IntentGone extends AppError {
  constructor() {
    // Its orphan check has begun (a provisioning slower than ORPHAN_CHECK_AFTER_MS), or another took it over.
    super("service_unavailable", { reason: "vonage_signup_expired" }, { retryAfterSeconds: 1 });
  }
}

export function vonageAccounts({ db, sql, clock, users, imageUrl, log }: VonageAccountsDeps) {
  const dropIntent = (marker: string) =>
    sql.query(`DELETE FROM "vonage_tasks" WHERE "id" = $1::uuid AND "kind" IN ('signup', 'orphan')`, [marker]).then(
      () => undefined,
      (err: unknown) => log.warn({ err, marker }, "vonage: signup intent not removed (its orphan check will find nothing to do)"),
    );

  /** The remote user named `name` with everything it carries, or null. */
  async function remoteNamed(name: string): Promise<VonageUser | null> {
    const found = await users.findByName(name);
    if (!found) return null;
    try {
      return await users.get(found.id);
    } catch (err) {
      if (err instanceof VonageUserNotFound) return null; // deleted meanwhile
      throw err;
    }
  }

  /** Deletes a remote user; one already gone is deleted too. */
  const deleteRemote = (id: string) =>
    users.delete(id).catch((err: unknown) => {
      if (!(err instanceof VonageUserNotFound)) throw err;
    });

  const accountWith = async (vonageUserId: string) =>
    (await sql.query<{ id: string }>(`SELECT "id" FROM "users" WHERE "vonage_user_id" = $1`, [vonageUserId]))[0]?.id ?? null;

  /** One task's work; throws to be retried. Returns a time to run again (an orphan's last look, a push to settle), or null when done. */
  async function perform(task: Task): Promise<number | null> {
    switch (task.kind) {
      case "signup": // claimed tasks are never `signup` (the claim turns them into orphans)
      case "orphan": {
        const remote = await remoteNamed(task.name ?? "");
        if (remote?.customData[SIGNUP_MARKER] === task.subject && !(await accountWith(remote.id))) {
          await deleteRemote(remote.id);
          log.info({ vonageUserId: remote.id }, "vonage: deleted the user a failed signup left");
          return null;
        }
        // Nothing (or nothing of ours) yet: one last look later, for a create held up somewhere.
        const last = task.createdAt.getTime() + ORPHAN_LAST_CHECK_MS;
        return !remote && clock.now() < last ? last : null;
      }
      case "delete": {
        const owner = await accountWith(task.subject);
        if (owner) {
          log.error({ vonageUserId: task.subject, account: owner }, "vonage: a deleted account's user is another account's now; not deleted");
          return null;
        }
        await deleteRemote(task.subject);
        return null;
      }
      case "push": {
        const [user] = await sql.query<{ vonageUserId: string | null; username: string | null; displayName: string; imageKey: string | null }>(
          `SELECT "vonage_user_id" AS "vonageUserId", "username", "display_name" AS "displayName", "image_key" AS "imageKey" FROM "users" WHERE "id" = $1::uuid AND "deleted_at" IS NULL`,
          [task.subject],
        );
        if (!user?.vonageUserId) return null; // deleted, or unlinked since (a `delete` task follows)
        try {
          await users.update(user.vonageUserId, {
            ...(user.username !== null ? { name: user.username } : {}),
            displayName: user.displayName,
            ...(user.imageKey ? { imageUrl: imageUrl(user.imageKey) } : {}),
          });
        } catch (err) {
          // Neither gets better by retrying: said loudly, for an operator (npm run admin -- vonage-sync).
          if (err instanceof VonageUserNotFound) {
            log.error({ userId: task.subject, vonageUserId: user.vonageUserId }, "vonage: the account's user is gone at Vonage; `npm run admin -- vonage-sync --apply` makes it again");
            return null;
          }
          if (err instanceof VonageDuplicateName) {
            log.error({ userId: task.subject, vonageUserId: user.vonageUserId, problem: err.problem }, "vonage: the account's name is taken at Vonage; not sent");
            return null;
          }
          throw err;
        }
        // An earlier attempt may still land at Vonage after this one: the fields are sent again, later.
        return task.unsettled ? clock.now() + SETTLE_MS : null;
      }
    }
  }

  /** Claims up to BATCH due tasks (a due signup intent becomes an orphan check), runs them, and finishes or reschedules each. */
  async function runDue(): Promise<number> {
    const now = clock.now();
    const claim = randomUUID();
    const tasks = await sql.query<Task>(
      `UPDATE "vonage_tasks" SET "kind" = CASE WHEN "kind" = 'signup' THEN 'orphan' ELSE "kind" END, "claim" = $3::uuid, "claimed_until" = $2
       WHERE "id" IN (
         SELECT "id" FROM "vonage_tasks" WHERE "due_at" <= $1 AND ("claimed_until" IS NULL OR "claimed_until" <= $1)
         ORDER BY "due_at" LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
       RETURNING "id", "kind", "subject", "name", "attempts", "version", "unsettled", "created_at" AS "createdAt"`,
      [new Date(now), new Date(now + CLAIM_MS), claim],
    );
    // Each task's outcome is written under its claim; the version tells whether a newer change armed it meanwhile.
    const release = `"claim" = NULL, "claimed_until" = NULL`;
    const finish = async (task: Task, again: number | null) => {
      if (again === null) {
        const deleted = await sql.query(`DELETE FROM "vonage_tasks" WHERE "id" = $1 AND "claim" = $2::uuid AND "version" = $3 RETURNING "id"`, [task.id, claim, task.version]);
        if (deleted.length > 0) return;
      }
      // Armed again meanwhile (it runs again as it is, due at once), or to run again later.
      await sql.query(
        `UPDATE "vonage_tasks" SET ${release}, "unsettled" = false, "attempts" = 0, "last_error" = NULL,
           "due_at" = CASE WHEN "version" = $3 AND $4::timestamptz IS NOT NULL THEN $4::timestamptz ELSE "due_at" END
         WHERE "id" = $1 AND "claim" = $2::uuid`,
        [task.id, claim, task.version, again === null ? null : new Date(again)],
      );
    };
    const failed = async (task: Task, err: unknown) => {
      const attempts = task.attempts + 1;
      const retryAfterMs = err instanceof VonageUnavailable && err.retryAfterSeconds !== null ? err.retryAfterSeconds * 1000 : 0;
      const retryAt = new Date(clock.now() + Math.max(backoffMs(attempts), retryAfterMs));
      const level = attempts >= ALARM_AFTER_ATTEMPTS ? "error" : "warn";
      log[level]({ err, task: { kind: task.kind, subject: task.subject, attempts }, retryAt }, `vonage: ${task.kind} failed; retried later`);
      // A push whose request failed without an answer may still be applied at Vonage, late.
      // (no answer, or a gateway's 502/504: the request may have been applied; a 429 or a 503 was not)
      const unsettled = task.kind === "push" && err instanceof VonageUnavailable && [0, 502, 504].includes(err.status);
      await sql.query(
        `UPDATE "vonage_tasks" SET ${release}, "attempts" = $3, "last_error" = $4, "unsettled" = "unsettled" OR $6,
           "due_at" = CASE WHEN "version" = $7 THEN $5 ELSE "due_at" END
         WHERE "id" = $1 AND "claim" = $2::uuid`,
        [task.id, claim, attempts, String((err as Error)?.message ?? err).slice(0, 500), retryAt, unsettled, task.version],
      );
    };
    await Promise.allSettled(
      tasks.map(async (task) => {
        let again: number | null;
        try {
          again = await perform(task);
        } catch (err) {
          await failed(task, err);
          return;
        }
        await finish(task, again);
      }),
    ).then((results) => {
      for (const r of results) if (r.status === "rejected") log.error({ err: r.reason }, "vonage: a task's outcome not recorded (its claim lapses, then it runs again)");
    });
    return tasks.length;
  }

  // One run at a time; a kick during a run asks for one more after it. None once closed.
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        // A full batch may mean more are due.
        while (!closed && (await runDue()) === BATCH) again = false;
      } while (again && !closed);
    })()
      .catch((err: unknown) => log.error({ err }, "vonage: tasks not run"))
      .finally(() => (running = undefined));
  }

  /**
   * The remote user for a new username (signup, or an account's first username), then `save` with
   * its id in the transaction that removes the intent. Throws 409 for a name Vonage already has,
   * 503 when Vonage cannot be reached (or refuses) and no user of ours was made, and whatever `save`
   * throws (the remote user deleted first).
   */
  async function provision<T>(input: { name: string; displayName: string }, save: (vonageUserId: string, tx: Tx) => Promise<T>): Promise<T> {
    const marker = randomUUID();
    const now = clock.now();
    await sql.query(`INSERT INTO "vonage_tasks" ("id", "kind", "subject", "name", "due_at", "created_at") VALUES ($1::uuid, 'signup', $1::text, $2, $3, $4)`, [
      marker,
      input.name,
      new Date(now + ORPHAN_CHECK_AFTER_MS),
      new Date(now),
    ]);
    /** Intents the link consumes: ours, and the one of a failed attempt whose user is taken over. */
    const intents: string[] = [marker];
    let remote: VonageUser;
    try {
      remote = await users.create({ name: input.name, displayName: input.displayName, customData: { [SIGNUP_MARKER]: marker } });
    } catch (err) {
      if (err instanceof VonageRefused) {
        await dropIntent(marker);
        log.error({ problem: err.problem }, "vonage: the Users API refused to create a user (is the application id and key right?)");
        throw unavailable(err);
      }
      if (!(err instanceof VonageDuplicateName) && !(err instanceof VonageUnavailable)) throw err; // the intent's check decides
      // Made or not, or whose: whoever has the name tells.
      let found: VonageUser | null;
      try {
        found = await remoteNamed(input.name);
      } catch (lookup) {
        if (lookup instanceof VonageUnavailable || lookup instanceof VonageRefused) throw unavailable(lookup);
        throw lookup;
      }
      const foundMarker = found?.customData[SIGNUP_MARKER];
      if (found && foundMarker === marker) {
        remote = found; // ours: the create's answer was lost
      } else if (found && typeof foundMarker === "string" && (await takeOverable(foundMarker, input.name))) {
        // A failed attempt's user, never linked (its intent waits for its check): this one takes it.
        intents.push(foundMarker);
        remote = found;
      } else if (err instanceof VonageDuplicateName || found) {
        await dropIntent(marker);
        throw taken();
      } else {
        // Given up: the intent stays for its check (a create still on its way), and may be taken over meanwhile.
        await sql.query(`UPDATE "vonage_tasks" SET "kind" = 'orphan' WHERE "id" = $1::uuid AND "kind" = 'signup'`, [marker]).catch(() => {});
        throw unavailable(err);
      }
    }
    try {
      return await db.$transaction(async (tx) => {
        // Ours still a provisioning under way (not turned into an orphan check), and a taken-over
        // one still given up and unclaimed (a run of its check claims it with SKIP LOCKED).
        const [own, ...others] = intents;
        const mine = await tx.vonageTask.deleteMany({ where: { id: own!, kind: "signup" } });
        const given = others.length
          ? await tx.vonageTask.deleteMany({ where: { id: { in: others }, kind: "orphan", OR: [{ claimedUntil: null }, { claimedUntil: { lte: new Date(clock.now()) } }] } })
          : { count: 0 };
        if (mine.count !== 1 || given.count !== others.length) throw new IntentGone();
        return save(remote.id, tx);
      });
    } catch (err) {
      // Failures known to come before the commit: the remote user is deleted now. Any other (a
      // connection lost at commit) may follow a commit: the user is deleted only if no account has it.
      const beforeCommit = err instanceof IntentGone || isUniqueViolation(err) || err instanceof AppError;
      let owned: boolean | null = false;
      if (!beforeCommit) owned = await accountWith(remote.id).then((id) => id !== null, () => null);
      if (owned === false) {
        await deleteRemote(remote.id).then(
          () => intents.forEach((m) => void dropIntent(m)),
          (e: unknown) => log.warn({ err: e, vonageUserId: remote.id }, "vonage: the remote user of a failed signup not deleted yet; its orphan check will"),
        );
      }
      throw err;
    }
  }

  /**
   * A given-up attempt's intent for `name` (an orphan check, not a provisioning under way), not
   * claimed: its user may be taken over.
   */
  async function takeOverable(marker: string, name: string): Promise<boolean> {
    const rows = await sql.query(
      `SELECT 1 FROM "vonage_tasks" WHERE "id" = $1::uuid AND "kind" = 'orphan' AND "name" = $2 AND ("claimed_until" IS NULL OR "claimed_until" <= $3)`,
      [marker, name, new Date(clock.now())],
    ).catch(() => []);
    return rows.length > 0;
  }

  return {
    provision,

    /**
     * A linked account's new name, at Vonage first (the token's `sub` names the user there): a
     * name another user has → 409; Vonage unreachable → 503 (and, the outcome unknown, a push that
     * sets the name back to the account's). Then `save`; when it fails, a push sets it back too.
     */
    async rename<T>(account: { id: string; vonageUserId: string }, name: string, save: () => Promise<T>): Promise<T> {
      try {
        await users.update(account.vonageUserId, { name });
      } catch (err) {
        if (err instanceof VonageDuplicateName) throw taken();
        if (err instanceof VonageUnavailable || err instanceof VonageRefused) {
          await queuePush(sql, account.id).catch((e: unknown) => log.error({ err: e, account: account.id }, "vonage: push not queued after an unanswered rename"));
          kick();
          if (err instanceof VonageRefused) log.error({ problem: err.problem }, "vonage: the Users API refused a rename");
          throw unavailable(err);
        }
        if (!(err instanceof VonageUserNotFound)) throw err;
        log.error({ account: account.id, vonageUserId: account.vonageUserId }, "vonage: the account's user is gone at Vonage; renamed here only (`npm run admin -- vonage-sync --apply` makes it again)");
      }
      try {
        return await save();
      } catch (err) {
        await queuePush(sql, account.id).then(kick, (e: unknown) => log.error({ err: e, account: account.id }, "vonage: push not queued after a failed rename"));
        throw err;
      }
    },

    runDue,
    /** Runs the due tasks soon, in the background (after a change that wrote one). */
    kick,
    /** Resolves when no run is under way (tests). */
    async idle(): Promise<void> {
      while (running) await running;
    },
    /** No run starts any more; resolves when the one under way has finished (stop()). */
    async close(): Promise<void> {
      closed = true;
      while (running) await running;
    },
  };
}

export type VonageAccounts = ReturnType<typeof vonageAccounts>;
