// Vonage mode's accounts (docs/vapp.md, "Vonage mode"): every V-app account is also a user of the
// Vonage application (the Users API, ports/vonage-users.ts), and that user's `USR-…` id is the
// account's V-app id (users.vonage_user_id).
//
// Signup creates the remote user first and the account second, so that an account never names a
// remote user that does not exist; whatever fails in between, nothing is left half-made:
//   - before the remote create, an intent is written (vonage_tasks, kind `signup`: the name, and a
//     marker that the remote user carries in its custom_data); the account's insert deletes it in
//     the same transaction, and fails when it is gone;
//   - a name Vonage already has → 409, as a name taken here;
//   - Vonage unreachable, failing or slow (the user may have been made or not): looked up by name.
//     Ours (our marker) → adopted, the signup goes on; another's → 409; none → 503, the intent stays;
//   - the account's insert fails (the name taken here meanwhile, the database): the remote user is deleted;
//   - an intent still there when due (a crash, a delete that failed, a create that landed after the
//     lookup) becomes an `orphan` task: the remote user with that name and marker is deleted, unless
//     an account has it.
// Later changes reach Vonage through tasks that triggers on `users` write in the change's own
// transaction (migration 20261207000000_vonage_users): `push` (the name, display name or picture
// changed: the remote user is updated) and `delete` (the account let go of its remote user: it was
// deleted). Tasks are tried at once (kick) and by the ticker, retried with backoff until done, each
// failure logged; none is dropped unless it cannot succeed, and that is logged as an error.
import { randomUUID } from "node:crypto";
import type { Db, Sql } from "../db/client.ts";
import type { User } from "../db/generated/client.ts";
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
  /** The claim's due_at: the task is finished (or rescheduled) only while it still has it. */
  claim: Date;
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
 * Vonage user by the running server. For an operator's fix (npm run admin -- vonage-sync --apply).
 */
export const queuePush = (sql: Sql, accountId: string) =>
  sql.query(
    `INSERT INTO "vonage_tasks" ("id", "kind", "subject", "due_at", "created_at") VALUES (gen_random_uuid(), 'push', $1, 'epoch', now())
     ON CONFLICT ("kind", "subject") DO UPDATE SET "due_at" = 'epoch', "attempts" = 0`,
    [accountId],
  );

const taken = () => new AppError("conflict", { username: "must be unique" });
const unavailable = (cause: VonageUnavailable) => new AppError("service_unavailable", { reason: "vonage_unavailable" }, { retryAfterSeconds: cause.retryAfterSeconds ?? 5, cause });

export function vonageAccounts({ db, sql, clock, users, imageUrl, log }: VonageAccountsDeps) {
  const dropIntent = (marker: string) =>
    sql.query(`DELETE FROM "vonage_tasks" WHERE "id" = $1`, [marker]).then(
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

  const liveAccountWith = async (vonageUserId: string) =>
    (await sql.query(`SELECT 1 FROM "users" WHERE "vonage_user_id" = $1`, [vonageUserId])).length > 0;

  /** One task's work; throws to be retried. */
  async function perform(task: Task): Promise<void> {
    switch (task.kind) {
      case "signup": // claimed tasks are never `signup` (the claim turns them into orphans)
      case "orphan": {
        const remote = await remoteNamed(task.name ?? "");
        if (!remote || remote.customData[SIGNUP_MARKER] !== task.subject || (await liveAccountWith(remote.id))) return;
        await deleteRemote(remote.id);
        log.info({ vonageUserId: remote.id }, "vonage: deleted the user a failed signup left");
        return;
      }
      case "delete":
        if (await liveAccountWith(task.subject)) return;
        await deleteRemote(task.subject);
        return;
      case "push": {
        const [user] = await sql.query<{ vonageUserId: string | null; username: string | null; displayName: string; imageKey: string | null }>(
          `SELECT "vonage_user_id" AS "vonageUserId", "username", "display_name" AS "displayName", "image_key" AS "imageKey" FROM "users" WHERE "id" = $1::uuid AND "deleted_at" IS NULL`,
          [task.subject],
        );
        if (!user?.vonageUserId) return; // deleted, or unlinked since (a `delete` task follows)
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
            return;
          }
          if (err instanceof VonageDuplicateName) {
            log.error({ userId: task.subject, vonageUserId: user.vonageUserId, problem: err.problem }, "vonage: the account's new name is taken at Vonage; not sent");
            return;
          }
          throw err;
        }
        return;
      }
    }
  }

  /** Claims up to BATCH due tasks (a due signup intent becomes an orphan check), runs them, and finishes or reschedules each. */
  async function runDue(): Promise<number> {
    const now = clock.now();
    const claim = new Date(now + CLAIM_MS);
    const tasks = await sql.query<Task>(
      `UPDATE "vonage_tasks" SET "kind" = CASE WHEN "kind" = 'signup' THEN 'orphan' ELSE "kind" END, "due_at" = $2
       WHERE "id" IN (SELECT "id" FROM "vonage_tasks" WHERE "due_at" <= $1 ORDER BY "due_at" LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
       RETURNING "id", "kind", "subject", "name", "attempts", "due_at" AS "claim"`,
      [new Date(now), claim],
    );
    await Promise.all(
      tasks.map(async (task) => {
        try {
          await perform(task);
        } catch (err) {
          const attempts = task.attempts + 1;
          const retryAt = new Date(clock.now() + backoffMs(attempts));
          const level = attempts >= ALARM_AFTER_ATTEMPTS ? "error" : "warn";
          log[level]({ err, task: { kind: task.kind, subject: task.subject, attempts }, retryAt }, `vonage: ${task.kind} failed; retried later`);
          // Unless changed meanwhile (armed again by a newer change: it runs again as it is).
          await sql.query(`UPDATE "vonage_tasks" SET "attempts" = $3, "last_error" = $4, "due_at" = $5 WHERE "id" = $1 AND "due_at" = $2`, [
            task.id,
            task.claim,
            attempts,
            String((err as Error)?.message ?? err).slice(0, 500),
            retryAt,
          ]);
          return;
        }
        await sql.query(`DELETE FROM "vonage_tasks" WHERE "id" = $1 AND "due_at" = $2`, [task.id, task.claim]);
      }),
    );
    return tasks.length;
  }

  // One run at a time; a kick during a run asks for one more after it.
  let running: Promise<void> | undefined;
  let again = false;
  function kick(): void {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        // A full batch may mean more are due.
        while ((await runDue()) === BATCH) again = false;
      } while (again);
    })()
      .catch((err: unknown) => log.error({ err }, "vonage: tasks not run"))
      .finally(() => (running = undefined));
  }

  return {
    /**
     * Signup in Vonage mode: the remote user, then the account (`save`, given the remote user's id,
     * in the transaction that removes the intent). Throws 409 for a name Vonage already has, 503
     * when Vonage cannot be reached and no user of ours was made, and whatever `save` throws (the
     * remote user deleted first).
     */
    async provision(input: { name: string; displayName: string }, save: (vonageUserId: string, tx: Tx) => Promise<User>): Promise<User> {
      const marker = randomUUID();
      const now = clock.now();
      await sql.query(`INSERT INTO "vonage_tasks" ("id", "kind", "subject", "name", "due_at", "created_at") VALUES ($1::uuid, 'signup', $1::text, $2, $3, $4)`, [
        marker,
        input.name,
        new Date(now + ORPHAN_CHECK_AFTER_MS),
        new Date(now),
      ]);
      let remote: VonageUser;
      try {
        remote = await users.create({ name: input.name, displayName: input.displayName, customData: { [SIGNUP_MARKER]: marker } });
      } catch (err) {
        if (!(err instanceof VonageUnavailable)) {
          // Refused (a duplicate, or a misconfiguration): nothing was made.
          await dropIntent(marker);
          if (err instanceof VonageDuplicateName) throw taken();
          if (err instanceof VonageRefused) log.error({ problem: err.problem }, "vonage: signup refused by the Users API");
          throw err;
        }
        // Made or not: whoever has the name tells.
        let found: VonageUser | null;
        try {
          found = await remoteNamed(input.name);
        } catch (lookup) {
          throw lookup instanceof VonageUnavailable ? unavailable(lookup) : lookup;
        }
        if (!found) throw unavailable(err); // the intent stays: a create still on its way is found by its orphan check
        if (found.customData[SIGNUP_MARKER] !== marker) {
          await dropIntent(marker);
          throw taken();
        }
        remote = found;
      }
      try {
        return await db.$transaction(async (tx) => {
          const { count } = await tx.vonageTask.deleteMany({ where: { id: marker, kind: "signup" } });
          // Its orphan check has begun (a signup slower than ORPHAN_CHECK_AFTER_MS): not made.
          if (count !== 1) throw new AppError("service_unavailable", { reason: "vonage_signup_expired" }, { retryAfterSeconds: 1 });
          return save(remote.id, tx);
        });
      } catch (err) {
        await deleteRemote(remote.id).then(
          () => dropIntent(marker),
          (e: unknown) => log.warn({ err: e, vonageUserId: remote.id }, "vonage: the remote user of a failed signup not deleted yet; its orphan check will"),
        );
        throw err;
      }
    },
    runDue,
    /** Runs the due tasks soon, in the background (after a change that wrote one). */
    kick,
    /** Resolves when no run is under way (tests; stop()). */
    async idle(): Promise<void> {
      while (running) await running;
    },
  };
}

export type VonageAccounts = ReturnType<typeof vonageAccounts>;
