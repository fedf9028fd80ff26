// The audit log (issue 14): role changes, refunds, account deletions and signing-key rotations, one
// append-only row each (the table refuses UPDATE, DELETE and TRUNCATE: migration
// 20261205000000_audit_log), with who did it (a user, or the system: the operator CLI, a start-up),
// what it was done to, when (the injected clock) and the request's id. A change and its audit row
// commit together: the caller that has a transaction passes it to record() (a Prisma transaction
// client, or the raw Sql session that ran BEGIN). Actor and target are plain ids, so the rows of a
// deleted account stay; `data` holds a few ids and values, never secrets or personal data.
import type { Db, Sql } from "../db/client.ts";
import type { AuditLog, Prisma } from "../db/generated/client.ts";
import { uuidv7 } from "./ids.ts";
import { afterCursor, newestFirst, toPage, type Page } from "./pagination.ts";
import type { Clock } from "./ports/clock.ts";
import type { UserRole } from "./principal.ts";

/** Every action the log records (openapi.yaml, AuditAction). */
export const AUDIT_ACTIONS = ["user.role_changed", "payment.refunded", "user.deleted", "keys.rotated"] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** What each action records in `data`: ids (UUIDs inside, rendered as ULIDs by the API) and values only. */
export interface AuditData {
  "user.role_changed": { from: UserRole; to: UserRole };
  /** target: the payment (capture) refunded; `amount` as the API writes amounts ("12.50", US dollars). */
  "payment.refunded": { refund_id: string; amount: string };
  /** target: the deleted user; `by` says whether the user, an admin or the operator deleted it. */
  "user.deleted": { by: "self" | "admin" | "operator" };
  /** target: the new signing key (its kid). */
  "keys.rotated": { kid: string; previous_kid: string };
}

/** Who acted: a user (by id), or the system (the operator CLI, an instance's start-up). */
export type AuditActor = { kind: "user"; id: string } | { kind: "system" };

/** What was acted on: a user or payment by its UUID, a signing key by its kid. */
export interface AuditTarget {
  type: "user" | "payment" | "signing_key";
  id: string;
}

/** One event to record; `data` has the shape its action names (AuditData). */
export type AuditEntry = {
  [A in AuditAction]: {
    action: A;
    actor: AuditActor;
    target: AuditTarget;
    /** The id of the request that made the change (req.id, from X-Request-ID); none outside a request. */
    requestId?: string | null | undefined;
    data: AuditData[A];
    /** Names an event that may be recorded more than once (a retried request): stored once. */
    dedupeKey?: string | undefined;
  };
}[AuditAction];

/**
 * Where a row is written: the caller's Prisma transaction client (or the client itself), or a raw
 * Sql session (in a transaction it began, or not).
 */
export type AuditWriter = Sql | Prisma.TransactionClient | Db;

export interface AuditQuery {
  limit: number;
  cursor?: string | undefined;
  action?: AuditAction | undefined;
  /** A target id as stored (a UUID, or a kid). */
  targetId?: string | undefined;
}

export interface Audit {
  /**
   * Appends one row, in `tx` when given (so that it commits or rolls back with the change it
   * records), else on its own. False when its dedupe key was recorded before (nothing written).
   * A failure is thrown: the caller's transaction, and so its change, fails with it.
   */
  record(entry: AuditEntry, tx?: AuditWriter): Promise<boolean>;
  /** The log, newest first, one page at a time. */
  page(q: AuditQuery): Promise<Page<AuditLog>>;
  /**
   * Called once per start with the signing key in use: records `keys.rotated` when it is not the
   * key the last start saw (once, however many instances start at once). The first start records
   * no rotation. True when this call recorded one.
   */
  signingKeyInUse(kid: string): Promise<boolean>;
}

const INSERT = `INSERT INTO "audit_log" ("id", "action", "actor_kind", "actor_id", "target_type", "target_id", "data", "request_id", "dedupe_key", "created_at")
  VALUES ($1::uuid, $2, $3, $4::uuid, $5, $6, $7::jsonb, $8, $9, $10::timestamptz)
  ON CONFLICT ("dedupe_key") DO NOTHING RETURNING "id"`;

const isPrisma = (w: AuditWriter): w is Prisma.TransactionClient => "$queryRawUnsafe" in w;

export function audit(deps: { db: Db; sql: Sql; clock: Clock }): Audit {
  const { db, sql, clock } = deps;

  async function record(entry: AuditEntry, tx?: AuditWriter): Promise<boolean> {
    const w = tx ?? sql;
    const values = [
      uuidv7(clock),
      entry.action,
      entry.actor.kind,
      entry.actor.kind === "user" ? entry.actor.id : null,
      entry.target.type,
      entry.target.id,
      JSON.stringify(entry.data),
      entry.requestId ?? null,
      entry.dedupeKey ?? null,
      new Date(clock.now()).toISOString(),
    ];
    const rows = isPrisma(w) ? await w.$queryRawUnsafe<{ id: string }[]>(INSERT, ...values) : await w.query<{ id: string }>(INSERT, values);
    return rows.length === 1;
  }

  return {
    record,

    async page(q) {
      const where: Prisma.AuditLogWhereInput = {
        AND: [afterCursor("audit_log", q.cursor), q.action ? { action: q.action } : {}, q.targetId ? { targetId: q.targetId } : {}],
      };
      const rows = await db.auditLog.findMany({ where, orderBy: newestFirst, take: q.limit + 1 });
      return toPage("audit_log", rows, q.limit);
    },

    async signingKeyInUse(kid) {
      const since = new Date(clock.now()).toISOString();
      return db.$transaction(async (tx) => {
        // The first start sees no key before it: nothing rotated.
        const first = await tx.$queryRawUnsafe<unknown[]>(
          `INSERT INTO "signing_key_state" ("id", "kid", "since") VALUES (true, $1, $2::timestamptz) ON CONFLICT ("id") DO NOTHING RETURNING "kid"`,
          kid,
          since,
        );
        if (first.length > 0) return false;
        // Locked until commit: an instance starting at the same time waits, then sees this start's key.
        const [prior] = await tx.$queryRawUnsafe<{ kid: string }[]>(`SELECT "kid" FROM "signing_key_state" WHERE "id" FOR UPDATE`);
        if (!prior || prior.kid === kid) return false;
        await tx.$executeRawUnsafe(`UPDATE "signing_key_state" SET "kid" = $1, "since" = $2::timestamptz WHERE "id"`, kid, since);
        return record(
          { action: "keys.rotated", actor: { kind: "system" }, target: { type: "signing_key", id: kid }, data: { kid, previous_kid: prior.kid } },
          tx,
        );
      });
    },
  };
}
