// The billing engine (docs/billing.md): time windows with a hold each, captured at the window's
// end, the last one captured for the minutes used. The schedule is durable: windows, tasks and
// captures are rows, and a ticker claims calls with due tasks (a per-call lease taken with FOR
// UPDATE SKIP LOCKED), so a restart or a second instance never skips, repeats or double-charges a
// step. A tick claims such calls in batches and works on many at once (up to `parallelism`, each
// under its own lease, its steps in order): provider requests overlap, and the event loop stays
// free for requests between the database's answers. Every provider request carries an idempotency
// key derived from (call, window, action).
// Every instant comes from the injected clock; tick() does all work that is due at clock.now().
import { randomBytes } from "node:crypto";
import { sqlTag, type Db, type Sql, type SqlTag } from "../db/client.ts";
import { Prisma, type Call, type CallStatus, type CallTask } from "../db/generated/client.ts";
import { PaymentsRefused, type HoldInput, type HoldResult, type PaymentProvider } from "./ports/payments.ts";
import type { Clock } from "./ports/clock.ts";
import { noMetrics, type Metrics } from "./ports/metrics.ts";
import { transition } from "./call-state.ts";
import { uuidv7 } from "./ids.ts";
import type { ServerMessage } from "./signaling.ts";
import type { ParticipantRole } from "./principal.ts";
import type { CallNotices } from "./notifications.ts";
import { split } from "./money.ts";

export const MINUTE_MS = 60_000;
/** The next window's hold is placed this long before the current window ends. */
export const HOLD_AHEAD_MS = 60_000;
/** A waiting call whose host has not come is cancelled after this long. */
export const NO_SHOW_MS = 5 * MINUTE_MS;
/**
 * A host whose live channel did not receive a waiting guest's notice within this long is told by
 * e-mail instead (a stream that is open receives it well within a second).
 */
export const RING_BY_MAIL_AFTER_MS = 5_000;
/** A first hold that asked the payer to authenticate may be used by a retried initiate this long. */
export const AUTHENTICATION_WINDOW_MS = 30 * MINUTE_MS;
/**
 * When a hold request's answer may be lost (an outage, a crash before its window is recorded), the
 * hold is looked for and released this long after the request: longer than the provider client
 * takes to give up on a request, retries included.
 */
export const VOID_AFTER_MS = 3 * MINUTE_MS;
/** A participant who dropped may come back within this long. */
export const RECONNECT_GRACE_MS = 60_000;
const LEASE_MS = 60_000;
const RETRY_MS = [5_000, 15_000, 60_000, 300_000];
/**
 * Calls a tick works on at once (BILLING_PARALLELISM). What overlaps is the waiting for the
 * provider: a boundary is two requests per call (capture, next hold), about 0.65 s with a provider
 * answering in 300 ms, so 256 calls in flight get through ~390 calls a second. A call waiting for
 * the provider holds no database connection; its statements queue for the pool with the requests'.
 * Measured with 2,000 calls whose windows end within seconds of each other and 300 ms of provider
 * latency: ticker lag p99 8.8 s with 64, 1.6 s with 256 (README, "Billing soak"). The provider's
 * rate limit is the other bound: Stripe takes 100 requests a second in live mode unless raised, and
 * a throttled request is retried (by the SDK, then with the engine's backoff).
 */
export const TICK_PARALLELISM = 256;
/** A tick stops claiming after this many claims (a safety bound; the next tick goes on). */
const MAX_CLAIMS_PER_TICK = 1_000;

export type EndReason =
  | "guest_ended"
  | "host_ended"
  | "guest_cancelled"
  | "host_declined"
  | "host_no_show"
  | "connection_lost"
  | "billing_failed"
  | "link_unavailable"
  | "payment_declined";

/** Events for the call's participants (delivered over signaling). */
/** What the engine tells a call's participants: the signaling frames of these types. */
export type CallEvent = Extract<ServerMessage, { type: "call_state" | "billing" | "call_ended" }>;

export type Notify = (callId: string, event: CallEvent) => Promise<void>;

type TaskKind = "capture" | "hold" | "end" | "no_show" | "reconnect_deadline" | "settle" | "void_hold" | "release_unused" | "ring" | "notices";
/** The steps that only tell people (notifications, e-mails): never waited on by a request. */
const TELLING: ReadonlySet<string> = new Set<TaskKind>(["ring", "notices"]);
/**
 * Order of tasks due at the same instant. A reconnect deadline comes first: it ends the call at the
 * moment the participant left, so a window boundary at that same instant captures only the minutes
 * used (a capture first would charge the whole window).
 */
const KIND_RANK: Record<string, number> = {
  reconnect_deadline: 0,
  capture: 1,
  hold: 2,
  end: 3,
  no_show: 4,
  settle: 5,
  void_hold: 6,
  release_unused: 7,
  ring: 8,
  notices: 9,
};

const windowMs = (call: Call) => call.windowMinutes * MINUTE_MS;
export const windowEnd = (call: Call, k: number) => new Date(call.startedAt!.getTime() + k * windowMs(call));
export const holdKey = (callId: string, k: number, action: "hold" | "capture" | "release") => `call:${callId}:w${k}:${action}`;

/**
 * The provider request for window k's hold, the same at every attempt (the provider compares the
 * parameters of a repeated idempotency key): rate × window, the fee of that amount, the payer's
 * customer and card, the host's account; off-session after the first window.
 */
export function holdRequest(call: Call, k: number): HoldInput {
  const amountCents = call.windowMinutes * call.rateCents;
  return {
    paymentMethodId: call.paymentMethodId,
    customerRef: call.customerRef,
    amountCents,
    feeCents: split(amountCents).feeCents,
    payeeRef: call.payeeRef,
    reference: call.id,
    window: k,
    offSession: k > 1,
    idempotencyKey: holdKey(call.id, k, "hold"),
  };
}

/** A refusal from the provider counts as a decline for a hold (the engine does not retry it). */
export async function placeHold(provider: PaymentProvider, input: HoldInput): Promise<HoldResult> {
  try {
    return await provider.hold(input);
  } catch (err) {
    if (err instanceof PaymentsRefused) return { ok: false, declineCode: err.code };
    throw err;
  }
}

/** What window k costs: ceil(minutes used in it) × rate, where use stops at the call's end. */
export function windowCharge(call: Call, k: number): number {
  if (!call.startedAt) return 0;
  const W = windowMs(call);
  const start = call.startedAt.getTime() + (k - 1) * W;
  const stop = Math.min(call.endedAt ? call.endedAt.getTime() : Number.POSITIVE_INFINITY, start + W);
  const used = Math.max(0, Math.min(W, stop - start));
  return Math.ceil(used / MINUTE_MS) * call.rateCents;
}

export interface CaptureRecord {
  id: string;
  callId: string;
  windowIndex: number;
  hostId: string;
  guestId: string;
  grossCents: number;
  feeCents: number;
  netCents: number;
  paymentRef: string | null;
  createdAt: Date;
}

/**
 * Records a window's capture once (by call and window), marks the window captured and adds it to
 * the call's amount charged, in one statement: the same whoever records it (the engine or a
 * webhook) and however often. Two windows of one call recorded at once both count: each statement
 * adds its own capture to the total it finds once it holds the call's row, where a sum read in its
 * snapshot would miss the other's. The sum still mends a total left short by an earlier version
 * (which wrote the capture and the total in two statements).
 */
export async function recordCapture(q: SqlTag, c: CaptureRecord) {
  await q`
    WITH "inserted" AS (
      INSERT INTO "captures" ("id", "call_id", "window_index", "host_id", "guest_id", "gross_cents", "fee_cents", "net_cents", "payment_ref", "created_at")
      VALUES (${c.id}::uuid, ${c.callId}::uuid, ${c.windowIndex}, ${c.hostId}::uuid, ${c.guestId}::uuid, ${c.grossCents}, ${c.feeCents}, ${c.netCents}, ${c.paymentRef}, ${c.createdAt})
      ON CONFLICT DO NOTHING
      RETURNING "gross_cents"),
    "window" AS (
      UPDATE "billing_windows" SET "hold_status" = 'captured', "updated_at" = ${c.createdAt}
      WHERE "call_id" = ${c.callId}::uuid AND "index" = ${c.windowIndex} AND "hold_status" <> 'captured')
    UPDATE "calls" SET "updated_at" = ${c.createdAt},
      "amount_charged_cents" = GREATEST(
        "amount_charged_cents" + COALESCE((SELECT "gross_cents" FROM "inserted"), 0),
        (SELECT COALESCE(SUM("gross_cents"), 0) FROM "captures" WHERE "call_id" = ${c.callId}::uuid) + COALESCE((SELECT "gross_cents" FROM "inserted"), 0))
    WHERE "id" = ${c.callId}::uuid`;
}

/*
 * The engine's steps read and write with raw statements on Database.sql (composed with Prisma.sql,
 * run as its `$n` text): each costs about a third of the CPU of the same statement through Prisma's
 * `$queryRaw` (60–65 µs against 180–290, measured with Prisma 7), and a boundary is a few of them for
 * every call at once. Never inside a Prisma interactive transaction (see Sql). Rows come back in the
 * database's names and are mapped to the model's types below, where a column added to the model
 * fails to compile until it is mapped.
 */
interface CallRow {
  id: string; link_id: string; host_id: string; guest_kind: string; guest_id: string; guest_name: string;
  status: CallStatus; end_reason: string | null; rate_cents: number; window_minutes: number;
  payment_method_id: string; customer_ref: string | null; payee_ref: string | null; amount_charged_cents: number;
  created_at: Date; updated_at: Date; started_at: Date | null; ended_at: Date | null; billed_until: Date | null; paid_until: Date | null; notified_at: Date | null;
  host_conn: string | null; guest_conn: string | null; host_left_at: Date | null; guest_left_at: Date | null;
  lease_owner: string | null; lease_until: Date | null;
}
/**
 * The columns of CallRow, named (never `*`): a named prepared statement keeps the result columns it
 * was prepared with, so `RETURNING *` would fail on a running instance once a migration changes the
 * table ("cached plan must not change result type"). `satisfies` keeps the list and CallRow equal.
 */
const CALL_COLUMNS = Prisma.raw(
  Object.keys({
    id: 1, link_id: 1, host_id: 1, guest_kind: 1, guest_id: 1, guest_name: 1, status: 1, end_reason: 1, rate_cents: 1, window_minutes: 1,
    payment_method_id: 1, customer_ref: 1, payee_ref: 1, amount_charged_cents: 1, created_at: 1, updated_at: 1, started_at: 1, ended_at: 1,
    billed_until: 1, paid_until: 1, notified_at: 1, host_conn: 1, guest_conn: 1, host_left_at: 1, guest_left_at: 1, lease_owner: 1, lease_until: 1,
  } satisfies Record<keyof CallRow, 1>)
    .map((c) => `"${c}"`)
    .join(", "),
);
const callOf = (r: CallRow): Call => ({
  id: r.id, linkId: r.link_id, hostId: r.host_id, guestKind: r.guest_kind, guestId: r.guest_id, guestName: r.guest_name,
  status: r.status, endReason: r.end_reason, rateCents: r.rate_cents, windowMinutes: r.window_minutes,
  paymentMethodId: r.payment_method_id, customerRef: r.customer_ref, payeeRef: r.payee_ref, amountCharged: r.amount_charged_cents,
  createdAt: r.created_at, updatedAt: r.updated_at, startedAt: r.started_at, endedAt: r.ended_at, billedUntil: r.billed_until, paidUntil: r.paid_until, notifiedAt: r.notified_at,
  hostConn: r.host_conn, guestConn: r.guest_conn, hostLeftAt: r.host_left_at, guestLeftAt: r.guest_left_at,
  leaseOwner: r.lease_owner, leaseUntil: r.lease_until,
});
/** A call_tasks row as json_agg renders it (instants as ISO strings). */
interface TaskJson {
  id: string; call_id: string; kind: string; window_index: number | null; ref_time: string | null; dedupe_key: string;
  reason: string | null; due_at: string; status: string; attempts: number; last_error: string | null; created_at: string; done_at: string | null;
}
const instant = (v: string | null) => (v === null ? null : new Date(v));
const taskOf = (j: TaskJson): CallTask => ({
  id: j.id, callId: j.call_id, kind: j.kind, windowIndex: j.window_index, refTime: instant(j.ref_time), dedupeKey: j.dedupe_key,
  reason: j.reason, dueAt: new Date(j.due_at), status: j.status, attempts: j.attempts, lastError: j.last_error,
  createdAt: new Date(j.created_at), doneAt: instant(j.done_at),
});

export interface BillingDeps {
  db: Db;
  /** The engine's own statements (Database.sql). */
  sql: Sql;
  clock: Clock;
  provider: PaymentProvider;
  notify: Notify;
  /** What the participants are told besides signaling: the e-mail ring, and the notices of a settled call (docs/notifications.md). */
  notices?: Pick<CallNotices, "ringByMail" | "ended">;
  log?: { error(obj: unknown, msg: string): void };
  /** Calls a tick works on at once (default TICK_PARALLELISM). */
  parallelism?: number | undefined;
  /** Counts the calls that end here in their final status. */
  metrics?: Metrics;
}

export function billingEngine({ db, sql, clock, provider, notify, notices, log, parallelism, metrics = noMetrics }: BillingDeps) {
  const q = sqlTag(sql);
  const now = () => new Date(clock.now());
  const inFlightMax = Math.max(1, Math.floor(parallelism ?? TICK_PARALLELISM));
  /** Calls claimed by one query: a quarter of the room, so that claims are few and the pipeline stays full. */
  const batch = Math.max(1, Math.ceil(inFlightMax / 4));

  type TaskFields = { windowIndex?: number; refTime?: Date; reason?: string; dedupe?: string };
  /** VALUES rows of new pending tasks; one per call and dedupe key (an existing one is kept). */
  const taskValues = (callId: string, tasks: { kind: TaskKind; dueAt: Date; extra?: TaskFields }[]) =>
    Prisma.join(
      tasks.map(({ kind, dueAt, extra = {} }) => {
        const dedupeKey = extra.dedupe ?? (extra.windowIndex !== undefined ? `${kind}:${extra.windowIndex}` : kind);
        return Prisma.sql`(${uuidv7(clock)}::uuid, ${callId}::uuid, ${kind}, ${extra.windowIndex ?? null}::int, ${extra.refTime ?? null}::timestamptz,
          ${extra.reason ?? null}::text, ${dedupeKey}, ${dueAt}, 'pending', 0, ${now()})`;
      }),
    );
  const TASK_COLUMNS = Prisma.sql`"id", "call_id", "kind", "window_index", "ref_time", "reason", "dedupe_key", "due_at", "status", "attempts", "created_at"`;

  /** The number of tasks scheduled (those whose key the call already has are not). */
  async function scheduleMany(callId: string, tasks: { kind: TaskKind; dueAt: Date; extra?: TaskFields }[]): Promise<number> {
    return (await q`INSERT INTO "call_tasks" (${TASK_COLUMNS}) VALUES ${taskValues(callId, tasks)} ON CONFLICT DO NOTHING RETURNING "id"`).length;
  }
  const schedule = (callId: string, kind: TaskKind, dueAt: Date, extra: TaskFields = {}) => scheduleMany(callId, [{ kind, dueAt, extra }]);

  const finishTask = (task: Pick<CallTask, "id">, status: "done" | "cancelled") =>
    q`UPDATE "call_tasks" SET "status" = ${status}, "done_at" = ${now()} WHERE "id" = ${task.id}::uuid AND "status" = 'pending'`;

  /** Moves a task to `until` without counting an attempt (it waits for another step, not for a failure to pass). */
  const postpone = (task: Pick<CallTask, "id">, until: Date) => q`UPDATE "call_tasks" SET "due_at" = ${until} WHERE "id" = ${task.id}::uuid`;

  async function retryLater(task: CallTask, error: string) {
    const delay = RETRY_MS[Math.min(task.attempts, RETRY_MS.length - 1)]!;
    await q`UPDATE "call_tasks" SET "attempts" = ${task.attempts + 1}, "last_error" = ${error.slice(0, 500)}, "due_at" = ${new Date(clock.now() + delay)}
      WHERE "id" = ${task.id}::uuid`;
  }

  /**
   * Fixes the amount of window k's capture (at most the hold; the first attempt's amount is kept,
   * so that a retry never asks for another). For a call that is still active the window was used in
   * full, and its end becomes the call's billed_until in the same statement, so that an end
   * recorded meanwhile cannot fall before it; if the call ended meanwhile, nothing is fixed
   * ("ended": read it again). Undefined when the window holds nothing to capture.
   */
  async function fixCapture(call: Call, k: number, amount: number): Promise<{ id: string; hold_ref: string; capture_cents: number } | "ended" | undefined> {
    if (call.status !== "active") {
      const [win] = await q<{ id: string; hold_ref: string; capture_cents: number }>`
        UPDATE "billing_windows" SET "capture_cents" = COALESCE("capture_cents", LEAST(${amount}, "amount_cents"))
        WHERE "call_id" = ${call.id}::uuid AND "index" = ${k} AND "hold_status" = 'held' AND "hold_ref" IS NOT NULL
        RETURNING "id", "hold_ref", "capture_cents"`;
      return win;
    }
    const [row] = await q<{ held: number; active: number; id: string | null; hold_ref: string | null; capture_cents: number | null }>`
      WITH "held" AS (
        SELECT "id" FROM "billing_windows"
        WHERE "call_id" = ${call.id}::uuid AND "index" = ${k} AND "hold_status" = 'held' AND "hold_ref" IS NOT NULL),
      "billed" AS (
        UPDATE "calls" SET "billed_until" = GREATEST("billed_until", ${windowEnd(call, k)})
        WHERE "id" = ${call.id}::uuid AND "status" = 'active' AND EXISTS (SELECT 1 FROM "held")
        RETURNING "id"),
      "fixed" AS (
        UPDATE "billing_windows" SET "capture_cents" = COALESCE("capture_cents", LEAST(${amount}, "amount_cents"))
        WHERE "id" IN (SELECT "id" FROM "held") AND "hold_status" = 'held' AND EXISTS (SELECT 1 FROM "billed")
        RETURNING "id", "hold_ref", "capture_cents")
      SELECT (SELECT count(*) FROM "held")::int AS "held", (SELECT count(*) FROM "billed")::int AS "active", f.*
      FROM (SELECT 1) one LEFT JOIN "fixed" f ON true`;
    if (!row || row.held === 0) return undefined;
    if (row.active === 0) return "ended";
    return row.id ? { id: row.id, hold_ref: row.hold_ref!, capture_cents: row.capture_cents! } : undefined;
  }

  /**
   * The reconnect deadline of a participant of `call` who left before `at` and has not come back
   * (the later of the two); null when both were there at `at`.
   */
  function awayUntil(call: Call, at: Date): Date | null {
    let until: Date | null = null;
    for (const [conn, leftAt] of [[call.hostConn, call.hostLeftAt], [call.guestConn, call.guestLeftAt]] as const) {
      if (conn !== null || !leftAt || leftAt >= at) continue;
      const deadline = new Date(leftAt.getTime() + RECONNECT_GRACE_MS);
      if (!until || deadline > until) until = deadline;
    }
    return until;
  }

  /**
   * Captures (or, for nothing used, releases) window k's hold: "done", "failed" (the provider
   * failed: retried later), or "ended" (the call was read active and has ended since: read again).
   */
  async function captureWindow(call: Call, k: number): Promise<"done" | "failed" | "ended"> {
    const amount = windowCharge(call, k);
    if (amount === 0) {
      await releaseWindow(call.id, k);
      return "done";
    }
    const win = await fixCapture(call, k, amount);
    if (win === "ended") return win;
    if (!win) return "done";
    const parts = split(win.capture_cents);
    const res = await provider.capture({
      holdRef: win.hold_ref,
      amountCents: parts.grossCents,
      feeCents: call.payeeRef ? parts.feeCents : null,
      idempotencyKey: holdKey(call.id, k, "capture"),
    });
    if (!res.ok && res.final) {
      // The provider let the hold go (its authorization expired): there is nothing to capture.
      await q`UPDATE "billing_windows" SET "hold_status" = 'expired', "updated_at" = ${now()} WHERE "id" = ${win.id}::uuid AND "hold_status" = 'held'`;
      log?.error({ callId: call.id, window: k, error: res.error }, "hold expired before its capture");
      return "done";
    }
    if (!res.ok) return "failed";
    await recordCapture(q, { id: uuidv7(clock), callId: call.id, windowIndex: k, hostId: call.hostId, guestId: call.guestId, ...parts, paymentRef: win.hold_ref, createdAt: now() });
    return "done";
  }

  async function releaseWindow(callId: string, k: number) {
    const [win] = await q<{ id: string; hold_ref: string }>`
      SELECT "id", "hold_ref" FROM "billing_windows"
      WHERE "call_id" = ${callId}::uuid AND "index" = ${k} AND "hold_status" = 'held' AND "hold_ref" IS NOT NULL`;
    if (!win) return;
    await provider.release({ holdRef: win.hold_ref, idempotencyKey: holdKey(callId, k, "release") });
    await q`UPDATE "billing_windows" SET "hold_status" = 'released', "updated_at" = ${now()} WHERE "id" = ${win.id}::uuid`;
  }

  /**
   * Ends the call (pending/waiting → cancelled, active → ending) for `reason` at `endedAt`, and
   * schedules its settlement; null when the call was not in a state that `from` allows. `gone`:
   * only if that participant has been gone since `endedAt` (their reconnect deadline).
   *
   * An active call's end is computed from its row in the statement that records it, so that it is
   * the same whichever of the engine and the participants reaches the database first: an end that
   * fell due earlier and that the engine has not run yet comes first, at its own instant and for its
   * own reason (the next window's hold was declined: paid_until; a participant gone past the
   * reconnect grace); and the call never ends before it started, nor before a window captured in
   * full while it was active (billed_until). So its charge is always the rule for its start and end.
   */
  async function markEnded(callId: string, reason: EndReason, endedAt: Date, opts: { from?: readonly CallStatus[]; gone?: ParticipantRole } = {}): Promise<Call | null> {
    const t = now();
    const from = opts.from ?? ["pending", "waiting", "active"];
    let ended = opts.gone ? null : await transition(db, callId, "cancelled", t, { from, changes: { endReason: reason, endedAt } });
    if (ended) metrics.callFinished("cancelled", reason);
    if (!ended && from.includes("active")) {
      const at = Prisma.sql`${endedAt}::timestamptz`;
      const grace = Prisma.sql`${RECONNECT_GRACE_MS} * interval '1 millisecond'`;
      const gone =
        opts.gone === "host" ? Prisma.sql`AND "host_conn" IS NULL AND "host_left_at" = ${at}`
        : opts.gone === "guest" ? Prisma.sql`AND "guest_conn" IS NULL AND "guest_left_at" = ${at}`
        : Prisma.empty;
      // Expressions on the row itself: re-evaluated on the version this statement updates, should
      // another statement change the row first.
      const left = (role: ParticipantRole) =>
        Prisma.sql`CASE WHEN ${Prisma.raw(`"${role}_conn"`)} IS NULL AND ${Prisma.raw(`"${role}_left_at"`)} + ${grace} <= ${at} THEN ${Prisma.raw(`"${role}_left_at"`)} END`;
      const [row] = await q<CallRow>`
        UPDATE "calls" SET "status" = 'ending', "updated_at" = ${t},
          "ended_at" = GREATEST(LEAST(${at}, "paid_until", ${left("host")}, ${left("guest")}), "started_at", "billed_until"),
          "end_reason" = CASE
            WHEN "paid_until" <= LEAST(${at}, ${left("host")}, ${left("guest")}) THEN 'billing_failed'
            WHEN LEAST(${left("host")}, ${left("guest")}) < ${at} THEN 'connection_lost'
            ELSE ${reason} END
        WHERE "id" = ${callId}::uuid AND "status" = 'active' ${gone}
        RETURNING ${CALL_COLUMNS}`;
      ended = row ? callOf(row) : null;
    }
    if (ended) await schedule(callId, "settle", t);
    return ended;
  }

  /**
   * Window k's hold was declined (`declinedCents`: the window, recorded as declined) or could not be
   * placed (null: no window is recorded, so that its void_hold looks for a hold the provider may have
   * placed): the call ends at the end of window k−1 at the latest. That bound goes on the call's row
   * in one statement: an end recorded before, later than the bound (the ticker ran late), is moved
   * back to it; an end recorded after keeps to it (markEnded). Returns the bound.
   */
  async function endPaidAt(call: Call, k: number, declinedCents: number | null): Promise<Date> {
    const paidUntil = windowEnd(call, k - 1);
    const cut = Prisma.sql`"status" = 'ending' AND "ended_at" > ${paidUntil}`;
    const declined =
      declinedCents === null ? Prisma.empty
      : Prisma.sql`WITH "window" AS (
          INSERT INTO "billing_windows" ("id", "call_id", "index", "amount_cents", "hold_status", "hold_ref", "created_at", "updated_at")
          VALUES (${uuidv7(clock)}::uuid, ${call.id}::uuid, ${k}, ${declinedCents}, 'declined', NULL, ${now()}, ${now()})
          ON CONFLICT DO NOTHING)`;
    await q`
      ${declined}
      UPDATE "calls" SET "paid_until" = LEAST("paid_until", ${paidUntil}), "updated_at" = ${now()},
        "ended_at" = CASE WHEN ${cut} THEN ${paidUntil} ELSE "ended_at" END,
        "end_reason" = CASE WHEN ${cut} THEN 'billing_failed' ELSE "end_reason" END
      WHERE "id" = ${call.id}::uuid`;
    return paidUntil;
  }

  /** Runs one due task of `call` (read under the lease just renewed). */
  async function runTask(task: CallTask, call: Call): Promise<void> {
    const k = task.windowIndex ?? 0;
    const kind = task.kind as TaskKind;
    switch (kind) {
      case "hold": {
        // Needed only for a window that starts before the call ended.
        const start = call.startedAt ? call.startedAt.getTime() + (k - 1) * windowMs(call) : Infinity;
        const live = call.status === "active" || (call.status === "ending" && call.endedAt && start < call.endedAt.getTime());
        if (!live) return void (await finishTask(task, "cancelled"));
        const request = holdRequest(call, k);
        await schedule(call.id, "void_hold", new Date(clock.now() + VOID_AFTER_MS), { windowIndex: k });
        const res = await placeHold(provider, request);
        if (res.ok) {
          // The window, its capture and the next hold, and this task done: one statement.
          await q`
            WITH "window" AS (
              INSERT INTO "billing_windows" ("id", "call_id", "index", "amount_cents", "hold_status", "hold_ref", "created_at", "updated_at")
              VALUES (${uuidv7(clock)}::uuid, ${call.id}::uuid, ${k}, ${request.amountCents}, 'held', ${res.holdRef}, ${now()}, ${now()})
              ON CONFLICT DO NOTHING),
            "next" AS (
              INSERT INTO "call_tasks" (${TASK_COLUMNS}) VALUES ${taskValues(call.id, windowTasks(call, k))} ON CONFLICT DO NOTHING)
            UPDATE "call_tasks" SET "status" = 'done', "done_at" = ${now()} WHERE "id" = ${task.id}::uuid AND "status" = 'pending'`;
          if (call.status === "active") await notify(call.id, { type: "billing", window: k, status: "held", held_until: windowEnd(call, k).toISOString() });
          return;
        }
        // Declined: the call ends at the end of the last window paid for.
        const paidUntil = await endPaidAt(call, k, request.amountCents);
        if (call.status === "active") {
          // Both participants hear it now; the call ends at the bound unless it ends before.
          await schedule(call.id, "end", paidUntil, { refTime: paidUntil, reason: "billing_failed" });
          await notify(call.id, { type: "billing", window: k, status: "hold_failed", held_until: paidUntil.toISOString() });
        }
        return void (await finishTask(task, "done"));
      }
      case "capture": {
        // A window whose end the call passed while a participant was away waits for their reconnect
        // deadline (which runs first at the same instant): if they do not come back, the call ends
        // when they left, and the window is captured for the minutes until then.
        const until = call.status === "active" ? awayUntil(call, windowEnd(call, k)) : null;
        if (until && until > task.dueAt) return void (await postpone(task, until));
        const done = await captureWindow(call, k);
        if (done === "failed") return retryLater(task, "capture failed");
        // Ended meanwhile: the task stays due, and runs again on the call as it is now.
        if (done === "ended") return;
        return void (await finishTask(task, "done"));
      }
      case "end":
        await markEnded(call.id, (task.reason ?? "billing_failed") as EndReason, task.refTime ?? now());
        return void (await finishTask(task, "done"));
      case "no_show": {
        await markEnded(call.id, "host_no_show", now(), { from: ["pending", "waiting"] });
        return void (await finishTask(task, "done"));
      }
      case "ring": {
        // Scheduled with the call, it counts from the moment the guest is waiting: while the first
        // hold is being placed, and until RING_BY_MAIL_AFTER_MS after the call turned waiting (its
        // last update), it waits. Then, if no live stream of the host's received the notice, the mail.
        if (call.status === "pending") return void (await postpone(task, new Date(clock.now() + RING_BY_MAIL_AFTER_MS)));
        if (call.status === "waiting" && !call.notifiedAt) {
          const ringAt = call.updatedAt.getTime() + RING_BY_MAIL_AFTER_MS;
          if (ringAt > clock.now()) return void (await postpone(task, new Date(ringAt)));
          await noticeStep(task, () => notices?.ringByMail(call));
        }
        return void (await finishTask(task, "done"));
      }
      case "notices":
        return noticeStep(task, () => notices?.ended(call), true);
      case "reconnect_deadline": {
        // Only if that participant is still gone since that very moment (no reconnect meanwhile).
        if (task.refTime) await markEnded(call.id, "connection_lost", task.refTime, { from: ["active"], gone: task.reason === "host" ? "host" : "guest" });
        return void (await finishTask(task, "done"));
      }
      case "settle":
        return settle(call, task);
      case "release_unused": {
        // The hold of a first attempt that needed 3-D Secure (its ref in `reason`): released
        // unless a retried initiate adopted it as its window 1.
        const ref = task.reason;
        if (ref && (await q`SELECT 1 FROM "billing_windows" WHERE "hold_ref" = ${ref}`).length === 0) {
          await provider.release({ holdRef: ref, idempotencyKey: holdKey(call.id, 1, "release") });
        }
        return void (await finishTask(task, "done"));
      }
      case "void_hold": {
        // Window k's hold request may have reached the provider without its window being recorded
        // (the answer was lost, or the process died first). A recorded window needs nothing: its
        // own capture or release follows. A hold request still being retried is waited for, and
        // so is initiate's (window 1) while the call is pending: initiate may yet record it (a
        // process that stalled past VOID_AFTER_MS; in tests, a clock moved meanwhile). A call
        // that stays pending is cancelled at its no-show deadline, and then its hold is looked for.
        // Otherwise the hold it placed, if any, is found (never placed anew) and released.
        const recorded = await q`SELECT 1 FROM "billing_windows" WHERE "call_id" = ${call.id}::uuid AND "index" = ${k}`;
        if (recorded.length > 0) return void (await finishTask(task, "done"));
        if (k === 1 && call.status === "pending") return retryLater(task, "initiate is still waiting for its hold");
        const retrying = await q`
          SELECT 1 FROM "call_tasks" WHERE "call_id" = ${call.id}::uuid AND "kind" = 'hold' AND "window_index" = ${k} AND "status" = 'pending'`;
        if (retrying.length > 0) return retryLater(task, "the hold request is still being retried");
        const ref = await provider.findHold(holdRequest(call, k));
        if (ref) await provider.release({ holdRef: ref, idempotencyKey: holdKey(call.id, k, "release") });
        return void (await finishTask(task, "done"));
      }
      default: {
        // Every kind of this version has its case (the compiler checks); another is a newer
        // instance's (a rolling deploy): left for an instance that knows it, out of this one's way.
        const _unknown: never = kind;
        log?.error({ callId: call.id, task: task.kind }, "billing task of an unknown kind postponed");
        return void (await postpone(task, new Date(clock.now() + LEASE_MS)));
      }
    }
  }

  /**
   * Runs a step that tells people something. A failure is retried with the engine's backoff, and
   * given up after the last retry (it is logged): a notice must not keep a call in the schedule.
   * `finish`: the task is done when the step is (else the caller finishes it).
   */
  async function noticeStep(task: CallTask, step: () => Promise<void> | undefined, finish = false) {
    try {
      await step();
    } catch (err) {
      if (task.attempts < RETRY_MS.length) throw err;
      log?.error({ err, callId: task.callId, task: task.kind }, "notice given up after its retries");
    }
    if (finish) await finishTask(task, "done");
  }

  /** Final step of every call: capture what was used, release every other hold, close the schedule. */
  async function settle(call: Call, task: CallTask) {
    // A window the call used whose hold is still being retried (the provider did not answer) is
    // waited for, or it would go unpaid: the retry runs before the settlement at the same instant,
    // and the participants hear now that the call ended. After the last retry the hold counts as
    // declined (docs/billing.md, "Failed holds"): the call ends where it was paid, and the
    // settlement runs on that.
    if (call.startedAt && call.endedAt) {
      const used = Math.ceil((call.endedAt.getTime() - call.startedAt.getTime()) / windowMs(call));
      const [hold] = await q<{ id: string; window_index: number; due_at: Date; attempts: number }>`
        SELECT "id", "window_index", "due_at", "attempts" FROM "call_tasks"
        WHERE "call_id" = ${call.id}::uuid AND "kind" = 'hold' AND "status" = 'pending' AND "window_index" <= ${used}
        ORDER BY "window_index" LIMIT 1`;
      if (hold && hold.attempts < RETRY_MS.length) {
        await postpone(task, hold.due_at);
        return notify(call.id, { type: "call_ended", reason: call.endReason ?? "ended" });
      }
      if (hold) {
        await finishTask(hold, "cancelled");
        await endPaidAt(call, hold.window_index, null);
        return; // the settlement stays due, and runs on the call as it now ends
      }
    }
    const windows = await q<{ index: number }>`
      SELECT "index" FROM "billing_windows" WHERE "call_id" = ${call.id}::uuid AND "hold_status" = 'held' ORDER BY "index"`;
    let failed = false;
    for (const w of windows) {
      // The call has ended: its windows' use is known.
      if (call.startedAt && windowCharge(call, w.index) > 0) {
        if ((await captureWindow(call, w.index)) !== "done") failed = true;
      } else await releaseWindow(call.id, w.index);
    }
    if (failed) {
      // The call is over either way: its participants hear so now, while the engine retries the capture.
      const first = await transition(db, call.id, "failed", now(), { from: ["ending"] });
      await retryLater(task, "capture failed");
      if (first) await notify(call.id, { type: "call_ended", reason: call.endReason ?? "ended" });
      return;
    }
    // The rest of the schedule is void: the steps of a live call, named (a kind of a newer version
    // is not this one's to cancel). Another settlement is kept: it was scheduled for a hold
    // recorded after this one read the windows (initiate's, overtaken by the end), and releases it;
    // so are a void_hold and a release_unused (they release holds no window records), and the notices.
    await q`
      UPDATE "call_tasks" SET "status" = 'cancelled', "done_at" = ${now()}
      WHERE "call_id" = ${call.id}::uuid AND "status" = 'pending' AND "id" <> ${task.id}::uuid
        AND "kind" IN ('capture', 'hold', 'end', 'no_show', 'reconnect_deadline', 'ring')`;
    const settled = call.status === "ending" || call.status === "failed" ? (call.endReason === "billing_failed" ? "failed" : "completed") : null;
    if (settled) await transition(db, call.id, settled, now());
    // What the participants are told of the settled call: once per call (the task's key), after
    // the settlement (its rank), retried on its own if it fails. The call is counted in its final
    // status by the settlement that schedules them, so once, however often a settlement runs.
    if ((await schedule(call.id, "notices", now())) > 0 && settled) metrics.callFinished(settled, call.endReason ?? "ended");
    await finishTask(task, "done");
    await notify(call.id, { type: "call_ended", reason: call.endReason ?? "ended" });
  }

  /** After window k's hold: capture k at its end, and hold k+1 a minute before. */
  const windowTasks = (call: Call, k: number) => [
    { kind: "capture" as const, dueAt: windowEnd(call, k), extra: { windowIndex: k } },
    { kind: "hold" as const, dueAt: new Date(windowEnd(call, k).getTime() - HOLD_AHEAD_MS), extra: { windowIndex: k + 1 } },
  ];

  const scheduleWindow = (call: Call, k: number) => scheduleMany(call.id, windowTasks(call, k));

  async function releaseLease(callId: string, owner: string) {
    await q`UPDATE "calls" SET "lease_owner" = NULL, "lease_until" = NULL WHERE "id" = ${callId}::uuid AND "lease_owner" = ${owner}`;
  }

  /**
   * Before each step: extends the lease and reads the call as it is now with its due tasks, in due
   * order (one statement); null when the lease lapsed and another worker took the call.
   */
  async function renewLease(callId: string, owner: string): Promise<{ call: Call; due: CallTask[] } | null> {
    const t = now();
    const [row] = await q<(CallRow & { due: TaskJson[] })>`
      WITH "leased" AS (
        UPDATE "calls" SET "lease_until" = ${new Date(t.getTime() + LEASE_MS)}
        WHERE "id" = ${callId}::uuid AND "lease_owner" = ${owner}
        RETURNING ${CALL_COLUMNS})
      SELECT "leased".*,
        (SELECT COALESCE(json_agg(k.*), '[]'::json) FROM "call_tasks" k
         WHERE k."call_id" = "leased"."id" AND k."status" = 'pending' AND k."due_at" <= ${t}) AS "due"
      FROM "leased"`;
    if (!row) return null;
    const due = row.due.map(taskOf);
    // A kind this version does not know goes last.
    const rank = (t: CallTask) => (Object.hasOwn(KIND_RANK, t.kind) ? KIND_RANK[t.kind]! : Number.MAX_SAFE_INTEGER);
    due.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || rank(a) - rank(b) || a.id.localeCompare(b.id));
    return { call: callOf(row), due };
  }

  /** Gives the lease back unless more of the call's work is due (then false: the drain goes on). */
  async function releaseIfIdle(callId: string, owner: string): Promise<boolean> {
    const released = await q`
      UPDATE "calls" SET "lease_owner" = NULL, "lease_until" = NULL
      WHERE "id" = ${callId}::uuid AND "lease_owner" = ${owner}
        AND NOT EXISTS (SELECT 1 FROM "call_tasks" WHERE "call_id" = ${callId}::uuid AND "status" = 'pending' AND "due_at" <= ${now()})
      RETURNING 1`;
    return released.length === 1;
  }

  /**
   * Runs a leased call's due tasks in order, then gives the lease back. `telling` false: the steps
   * that only tell people (TELLING) are left to the ticker, so that a request waiting on the call's
   * settlement (an end) does not wait on notices and e-mails as well.
   */
  async function drain(callId: string, owner: string, telling = true) {
    let released = false;
    try {
      for (let guard = 0; guard < 1000; guard++) {
        const leased = await renewLease(callId, owner);
        if (!leased) {
          released = true; // another worker's now
          return;
        }
        const { call, due } = leased;
        const next = telling ? due[0] : due.find((task) => !TELLING.has(task.kind));
        if (!next) break;
        try {
          await runTask(next, call);
        } catch (err) {
          log?.error({ err, callId, task: next.kind }, "billing task failed");
          await retryLater(next, (err as Error).message ?? "error");
        }
        // The last due task is done: the lease goes back in the same statement that checks that
        // nothing else became due meanwhile.
        if (due.length === 1 && (await releaseIfIdle(callId, owner))) {
          released = true;
          return;
        }
      }
    } finally {
      if (!released) await releaseLease(callId, owner);
    }
  }

  /**
   * Leases up to `limit` calls with due tasks to `owner`, the longest due first (FOR UPDATE SKIP
   * LOCKED: instances never wait on each other's calls), but none this engine is working on. Found
   * from the due tasks (their index on status and due time), so ended calls, however many, cost nothing.
   */
  async function claim(owner: string, limit: number): Promise<string[]> {
    const t = now();
    const rows = await q<{ id: string }>`
      UPDATE "calls" SET "lease_owner" = ${owner}, "lease_until" = ${new Date(t.getTime() + LEASE_MS)}
      WHERE "id" IN (
        SELECT c."id"
        FROM (SELECT "call_id", min("due_at") AS "first_due" FROM "call_tasks"
              WHERE "status" = 'pending' AND "due_at" <= ${t} GROUP BY "call_id") d
        JOIN "calls" c ON c."id" = d."call_id"
        WHERE (c."lease_until" IS NULL OR c."lease_until" < ${t}) AND c."id" <> ALL(${[...draining.keys()]}::uuid[])
        ORDER BY d."first_due", c."id"
        LIMIT ${limit}
        FOR UPDATE OF c SKIP LOCKED)
      RETURNING "id"`;
    return rows.map((r) => r.id);
  }

  async function leaseOne(callId: string): Promise<string | null> {
    const owner = randomBytes(8).toString("hex");
    const t = now();
    const rows = await q<{ id: string }>`
      UPDATE "calls" SET "lease_owner" = ${owner}, "lease_until" = ${new Date(t.getTime() + LEASE_MS)}
      WHERE "id" IN (
        SELECT "id" FROM "calls" WHERE "id" = ${callId}::uuid AND ("lease_until" IS NULL OR "lease_until" < ${t})
        FOR UPDATE SKIP LOCKED)
      RETURNING "id"`;
    return rows.length ? owner : null;
  }

  let ticking: Promise<number> = Promise.resolve(0);
  /**
   * This engine's drains in progress (the ticker's and runCall's), by call: never claimed again
   * while they run, even when their lease lapsed meanwhile (a clock that jumped), so that one
   * process never works on a call twice at once.
   */
  const draining = new Map<string, Promise<void>>();
  const track = (callId: string, work: Promise<void>): Promise<void> => {
    const tracked: Promise<void> = work.finally(() => {
      if (draining.get(callId) === tracked) draining.delete(callId);
    });
    draining.set(callId, tracked);
    return tracked;
  };
  /** A tick asked for while another runs: it starts when that one ends, and later asks share it. */
  let queued: Promise<number> | undefined;

  /**
   * One tick: claims calls with due work in batches and drains up to `inFlightMax` of them at once,
   * claiming again as room frees up, until a claim finds nothing and every drain has finished.
   */
  async function runTick(): Promise<number> {
    const inFlight = new Set<Promise<void>>();
    let total = 0;
    // A call whose work failed outright (its retry could not even be recorded: the database is
    // likely down) ends the claiming; the next tick tries again.
    let failed = false;
    try {
      for (let claims = 0; claims < MAX_CLAIMS_PER_TICK && !failed; claims++) {
        while (inFlight.size > inFlightMax - batch) await Promise.race(inFlight);
        // A turn of the event loop between claims: requests waiting for it are served first.
        await new Promise((resolve) => setImmediate(resolve));
        // Each claim its own owner: a drain whose lease lapsed learns so at its next step.
        const owner = randomBytes(8).toString("hex");
        const ids = await claim(owner, batch);
        for (const id of ids) {
          const work: Promise<void> = track(id, drain(id, owner))
            .catch((err) => {
              failed = true;
              log?.error({ err, callId: id }, "billing: a call's due work failed");
            })
            .finally(() => inFlight.delete(work));
          inFlight.add(work);
        }
        total += ids.length;
        if (ids.length < batch) {
          // Nothing else is due right now: once a drain finishes, look again (time has passed).
          if (inFlight.size === 0) break;
          await Promise.race(inFlight);
        }
      }
    } finally {
      await Promise.allSettled(inFlight);
    }
    return total;
  }

  return {
    schedule,
    scheduleMany,
    markEnded,

    /**
     * How far behind the schedule is, on every instance's ticker: the age in seconds of the oldest
     * step that is due and not done (0 when none is). A few seconds at most while tickers keep up.
     */
    async lagSeconds(): Promise<number> {
      const t = now();
      const [row] = await q<{ oldest: Date | null }>`
        SELECT min("due_at") AS "oldest" FROM "call_tasks" WHERE "status" = 'pending' AND "due_at" <= ${t}`;
      return row?.oldest ? (t.getTime() - row.oldest.getTime()) / 1000 : 0;
    },

    /** Resolves when the tick in progress (if any) is done. */
    idle: () => ticking.then(() => undefined, () => undefined),

    /** Called when both peers are connected for the first time: window 1 is the hold placed at initiate. */
    async onActivated(call: Call) {
      await notify(call.id, { type: "call_state", status: "active" });
      await scheduleWindow(call, 1);
      await notify(call.id, { type: "billing", window: 1, status: "held", held_until: windowEnd(call, 1).toISOString() });
    },

    /**
     * Settles a call again: for a hold placed after the call was already settled (a cancel that
     * overtook initiate while the provider was authorising the first window).
     */
    async resettle(callId: string): Promise<void> {
      await schedule(callId, "settle", now(), { dedupe: `settle:${uuidv7(clock)}` });
      await this.runCall(callId);
    },

    /**
     * Runs a call's due work now (e.g. right after an end request), waiting briefly for another
     * worker's lease: for this instance's ticker, until its work on the call is done (it runs
     * whatever became due meanwhile, a settlement too); for another instance, by asking again.
     * The steps that only tell people are left to the ticker's next round (within a second).
     */
    async runCall(callId: string, waitMs = 3000): Promise<boolean> {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const local = draining.get(callId);
        if (local) {
          const left = deadline - Date.now();
          if (left <= 0) return false;
          let timer: NodeJS.Timeout | undefined;
          // Its failure is the ticker's to report: this end goes on and takes the lease itself.
          await Promise.race([local.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, left)))]);
          clearTimeout(timer);
          continue;
        }
        const owner = await leaseOne(callId);
        if (owner) {
          await track(callId, drain(callId, owner, false));
          return true;
        }
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
    },

    /**
     * Runs the work due at clock.now() on every call that no other worker holds (see runTick) and
     * resolves with the number of calls claimed. Ticks of one instance run one after another: a
     * tick asked for while one runs starts when it ends (and is shared by every such ask).
     */
    tick(): Promise<number> {
      if (queued) return queued;
      const run = () => {
        queued = undefined;
        return runTick();
      };
      queued = ticking.then(run, run);
      ticking = queued;
      return queued;
    },
  };
}

export type BillingEngine = ReturnType<typeof billingEngine>;
