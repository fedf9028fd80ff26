// The billing engine (SPEC 4.9): time windows with a hold each, captured at the window's end, the
// last one captured for the minutes used. The schedule is durable: windows, tasks and captures are
// rows, and a ticker claims calls with due tasks (a per-call lease taken with FOR UPDATE SKIP
// LOCKED), so a restart or a second instance never skips, repeats or double-charges a step.
// Every provider request carries an idempotency key derived from (call, window, action).
// Every instant comes from the injected clock; tick() does all work that is due at clock.now().
import { randomBytes } from "node:crypto";
import type { Db } from "../db/client.ts";
import type { Call, CallTask, Prisma } from "../db/generated/client.ts";
import { PaymentsRefused, type HoldInput, type HoldResult, type PaymentProvider } from "../adapters/payments/port.ts";
import type { Clock } from "./clock.ts";
import { transition, type TransitionOptions } from "./call-state.ts";
import { uuidv7 } from "./ids.ts";
import { split } from "./money.ts";

export const MINUTE_MS = 60_000;
/** The next window's hold is placed this long before the current window ends. */
export const HOLD_AHEAD_MS = 60_000;
/** A waiting call whose host has not come is cancelled after this long. */
export const NO_SHOW_MS = 5 * MINUTE_MS;
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
export type CallEvent =
  | { type: "call_state"; status: string }
  | { type: "billing"; window: number; status: "held" | "hold_failed"; held_until: string }
  | { type: "call_ended"; reason: string };

export type Notify = (callId: string, event: CallEvent) => Promise<void>;

type TaskKind = "capture" | "hold" | "end" | "no_show" | "reconnect_deadline" | "settle" | "void_hold" | "release_unused";
/**
 * Order of tasks due at the same instant. A reconnect deadline comes first: it ends the call at the
 * moment the participant left, so a window boundary at that same instant captures only the minutes
 * used (a capture first would charge the whole window).
 */
const KIND_RANK: Record<string, number> = { reconnect_deadline: 0, capture: 1, hold: 2, end: 3, no_show: 4, settle: 5, void_hold: 6, release_unused: 7 };

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

/**
 * Records a window's capture once (by call and window), then sets the call's amount charged to the
 * sum of its captures: the same whoever records it (the engine or a webhook) and however often, and
 * a crash between the two writes heals at the next attempt.
 */
export async function recordCapture(db: Db, capture: Prisma.CaptureCreateManyInput & { callId: string; createdAt: Date }) {
  await db.capture.createMany({ data: [capture], skipDuplicates: true });
  await db.$executeRaw`
    UPDATE "calls" SET "updated_at" = ${capture.createdAt},
      "amount_charged_cents" = (SELECT COALESCE(SUM("gross_cents"), 0) FROM "captures" WHERE "call_id" = ${capture.callId}::uuid)
    WHERE "id" = ${capture.callId}::uuid`;
}

export interface BillingDeps {
  db: Db;
  clock: Clock;
  provider: PaymentProvider;
  notify: Notify;
  log?: { error(obj: unknown, msg: string): void };
}

export function billingEngine({ db, clock, provider, notify, log }: BillingDeps) {
  const now = () => new Date(clock.now());

  async function schedule(callId: string, kind: TaskKind, dueAt: Date, extra: { windowIndex?: number; refTime?: Date; reason?: string; dedupe?: string } = {}) {
    const dedupeKey = extra.dedupe ?? (extra.windowIndex !== undefined ? `${kind}:${extra.windowIndex}` : kind);
    await db.callTask.createMany({
      data: [{
        id: uuidv7(clock),
        callId,
        kind,
        windowIndex: extra.windowIndex ?? null,
        refTime: extra.refTime ?? null,
        reason: extra.reason ?? null,
        dedupeKey,
        dueAt,
        status: "pending",
        createdAt: now(),
      }],
      skipDuplicates: true,
    });
  }

  const finishTask = (task: CallTask, status: "done" | "cancelled") =>
    db.callTask.updateMany({ where: { id: task.id, status: "pending" }, data: { status, doneAt: now() } });

  async function retryLater(task: CallTask, error: string) {
    const delay = RETRY_MS[Math.min(task.attempts, RETRY_MS.length - 1)]!;
    await db.callTask.update({
      where: { id: task.id },
      data: { attempts: task.attempts + 1, lastError: error.slice(0, 500), dueAt: new Date(clock.now() + delay) },
    });
  }

  /** Captures (or, for nothing used, releases) window k's hold. False when the provider failed. */
  async function captureWindow(call: Call, k: number): Promise<boolean> {
    const win = await db.billingWindow.findUnique({ where: { callId_index: { callId: call.id, index: k } } });
    if (!win || win.holdStatus !== "held" || !win.holdRef) return true;
    const amount = windowCharge(call, k);
    if (amount === 0) {
      await provider.release({ holdRef: win.holdRef, idempotencyKey: holdKey(call.id, k, "release") });
      await db.billingWindow.update({ where: { id: win.id }, data: { holdStatus: "released", updatedAt: now() } });
      return true;
    }
    const parts = split(await captureAmount(win.id, Math.min(amount, win.amountCents)));
    const res = await provider.capture({
      holdRef: win.holdRef,
      amountCents: parts.grossCents,
      feeCents: call.payeeRef ? parts.feeCents : null,
      idempotencyKey: holdKey(call.id, k, "capture"),
    });
    if (!res.ok && res.final) {
      // The provider let the hold go (its authorization expired): there is nothing to capture.
      await db.billingWindow.updateMany({ where: { id: win.id, holdStatus: "held" }, data: { holdStatus: "expired", updatedAt: now() } });
      log?.error({ callId: call.id, window: k, error: res.error }, "hold expired before its capture");
      return true;
    }
    if (!res.ok) return false;
    await recordCapture(db, { id: uuidv7(clock), callId: call.id, windowIndex: k, hostId: call.hostId, guestId: call.guestId, ...parts, paymentRef: win.holdRef, createdAt: now() });
    await db.billingWindow.update({ where: { id: win.id }, data: { holdStatus: "captured", updatedAt: now() } });
    return true;
  }

  /** The amount of a window's capture: fixed by its first attempt, so that a retry never asks for another. */
  async function captureAmount(windowId: string, computed: number): Promise<number> {
    await db.billingWindow.updateMany({ where: { id: windowId, captureCents: null }, data: { captureCents: computed } });
    return (await db.billingWindow.findUniqueOrThrow({ where: { id: windowId }, select: { captureCents: true } })).captureCents ?? computed;
  }

  async function releaseWindow(callId: string, k: number) {
    const win = await db.billingWindow.findUnique({ where: { callId_index: { callId, index: k } } });
    if (!win || win.holdStatus !== "held" || !win.holdRef) return;
    await provider.release({ holdRef: win.holdRef, idempotencyKey: holdKey(callId, k, "release") });
    await db.billingWindow.update({ where: { id: win.id }, data: { holdStatus: "released", updatedAt: now() } });
  }

  /**
   * Ends the call (pending/waiting → cancelled, active → ending, at `endedAt` but never before it
   * started) and schedules its settlement. Null when the call was not in a state that `opts` allows.
   */
  async function markEnded(callId: string, reason: EndReason, endedAt: Date, opts: Pick<TransitionOptions, "from" | "guard"> = {}): Promise<Call | null> {
    const t = now();
    const changes = { endReason: reason, endedAt };
    let ended = await transition(db, callId, "cancelled", t, { ...opts, changes });
    if (!ended) {
      const started = await db.call.findUnique({ where: { id: callId }, select: { startedAt: true } });
      const at = started?.startedAt && started.startedAt > endedAt ? started.startedAt : endedAt;
      ended = await transition(db, callId, "ending", t, { ...opts, changes: { ...changes, endedAt: at } });
    }
    if (ended) await schedule(callId, "settle", t);
    return ended;
  }

  async function runTask(task: CallTask): Promise<void> {
    const call = await db.call.findUniqueOrThrow({ where: { id: task.callId } });
    const k = task.windowIndex ?? 0;
    switch (task.kind as TaskKind) {
      case "hold": {
        // Needed only for a window that starts before the call ended.
        const start = call.startedAt ? call.startedAt.getTime() + (k - 1) * windowMs(call) : Infinity;
        const live = call.status === "active" || (call.status === "ending" && call.endedAt && start < call.endedAt.getTime());
        if (!live) return void (await finishTask(task, "cancelled"));
        const request = holdRequest(call, k);
        await schedule(call.id, "void_hold", new Date(clock.now() + VOID_AFTER_MS), { windowIndex: k });
        const res = await placeHold(provider, request);
        await db.billingWindow.createMany({
          data: [{
            id: uuidv7(clock), callId: call.id, index: k, amountCents: request.amountCents,
            holdStatus: res.ok ? "held" : "declined", holdRef: res.ok ? res.holdRef : null,
            createdAt: now(), updatedAt: now(),
          }],
          skipDuplicates: true,
        });
        if (res.ok) {
          await scheduleWindow(call, k);
          if (call.status === "active") await notify(call.id, { type: "billing", window: k, status: "held", held_until: windowEnd(call, k).toISOString() });
        } else if (call.status === "ending") {
          // Ended meanwhile, but later than the boundary of the last window that is paid for (the
          // ticker ran late): the call ended at that boundary, for lack of payment.
          await db.call.updateMany({
            where: { id: call.id, status: "ending", endedAt: { gt: windowEnd(call, k - 1) } },
            data: { endedAt: windowEnd(call, k - 1), endReason: "billing_failed", updatedAt: now() },
          });
        } else {
          // The call ends at the boundary of the window that is paid for; both participants hear it now.
          await schedule(call.id, "end", windowEnd(call, k - 1), { refTime: windowEnd(call, k - 1), reason: "billing_failed" });
          await notify(call.id, { type: "billing", window: k, status: "hold_failed", held_until: windowEnd(call, k - 1).toISOString() });
        }
        return void (await finishTask(task, "done"));
      }
      case "capture": {
        if (!(await captureWindow(call, k))) return retryLater(task, "capture failed");
        return void (await finishTask(task, "done"));
      }
      case "end":
        await markEnded(call.id, (task.reason ?? "billing_failed") as EndReason, task.refTime ?? now());
        return void (await finishTask(task, "done"));
      case "no_show":
        await markEnded(call.id, "host_no_show", now(), { from: ["pending", "waiting"] });
        return void (await finishTask(task, "done"));
      case "reconnect_deadline": {
        // Only if that participant is still gone since that very moment (no reconnect meanwhile).
        if (task.refTime) {
          const gone = task.reason === "host" ? { hostConn: null, hostLeftAt: task.refTime } : { guestConn: null, guestLeftAt: task.refTime };
          await markEnded(call.id, "connection_lost", task.refTime, { from: ["active"], guard: gone });
        }
        return void (await finishTask(task, "done"));
      }
      case "settle":
        return settle(call, task);
      case "release_unused": {
        // The hold of a first attempt that needed 3-D Secure (its ref in `reason`): released
        // unless a retried initiate adopted it as its window 1.
        const ref = task.reason;
        if (ref && (await db.billingWindow.count({ where: { holdRef: ref } })) === 0) {
          await provider.release({ holdRef: ref, idempotencyKey: holdKey(call.id, 1, "release") });
        }
        return void (await finishTask(task, "done"));
      }
      case "void_hold": {
        // Window k's hold request may have reached the provider without its window being recorded
        // (the answer was lost, or the process died first). A recorded window needs nothing: its
        // own capture or release follows. A hold request still being retried is waited for.
        // Otherwise the hold it placed, if any, is found (never placed anew) and released.
        const recorded = await db.billingWindow.count({ where: { callId: call.id, index: k } });
        if (recorded > 0) return void (await finishTask(task, "done"));
        const retrying = await db.callTask.count({ where: { callId: call.id, kind: "hold", windowIndex: k, status: "pending" } });
        if (retrying > 0) return retryLater(task, "the hold request is still being retried");
        const ref = await provider.findHold(holdRequest(call, k));
        if (ref) await provider.release({ holdRef: ref, idempotencyKey: holdKey(call.id, k, "release") });
        return void (await finishTask(task, "done"));
      }
    }
  }

  /** Final step of every call: capture what was used, release every other hold, close the schedule. */
  async function settle(call: Call, task: CallTask) {
    const windows = await db.billingWindow.findMany({ where: { callId: call.id, holdStatus: "held" }, orderBy: { index: "asc" } });
    let failed = false;
    for (const w of windows) {
      if (call.startedAt && windowCharge(call, w.index) > 0) {
        if (!(await captureWindow(call, w.index))) failed = true;
      } else await releaseWindow(call.id, w.index);
    }
    if (failed) {
      // The call is over either way: its participants hear so now, while the engine retries the capture.
      const first = await transition(db, call.id, "failed", now(), { from: ["ending"] });
      await retryLater(task, "capture failed");
      if (first) await notify(call.id, { type: "call_ended", reason: call.endReason ?? "ended" });
      return;
    }
    // The rest of the schedule is void. Another settlement is kept: it was scheduled for a hold
    // recorded after this one read the windows (initiate's, overtaken by the end), and releases it;
    // so are a void_hold and a release_unused (they release holds no window records).
    await db.callTask.updateMany({
      where: { callId: call.id, status: "pending", id: { not: task.id }, kind: { notIn: ["settle", "void_hold", "release_unused"] } },
      data: { status: "cancelled", doneAt: now() },
    });
    if (call.status === "ending" || call.status === "failed") {
      await transition(db, call.id, call.endReason === "billing_failed" ? "failed" : "completed", now());
    }
    await finishTask(task, "done");
    await notify(call.id, { type: "call_ended", reason: call.endReason ?? "ended" });
  }

  async function scheduleWindow(call: Call, k: number) {
    // After window k's hold: capture k at its end, and hold k+1 a minute before.
    await schedule(call.id, "capture", windowEnd(call, k), { windowIndex: k });
    await schedule(call.id, "hold", new Date(windowEnd(call, k).getTime() - HOLD_AHEAD_MS), { windowIndex: k + 1 });
  }

  async function releaseLease(callId: string, owner: string) {
    await db.$executeRaw`UPDATE "calls" SET "lease_owner" = NULL, "lease_until" = NULL WHERE "id" = ${callId}::uuid AND "lease_owner" = ${owner}`;
  }

  /** Extends the lease before each step; false when it lapsed and another worker took the call. */
  async function renewLease(callId: string, owner: string) {
    const renewed = await db.$executeRaw`
      UPDATE "calls" SET "lease_until" = ${new Date(clock.now() + LEASE_MS)} WHERE "id" = ${callId}::uuid AND "lease_owner" = ${owner}`;
    return renewed === 1;
  }

  /** Runs a leased call's due tasks in order, then gives the lease back. */
  async function drain(callId: string, owner: string) {
    try {
      for (let guard = 0; guard < 1000; guard++) {
        if (!(await renewLease(callId, owner))) return;
        const due = await db.callTask.findMany({ where: { callId, status: "pending", dueAt: { lte: now() } } });
        if (due.length === 0) break;
        due.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || KIND_RANK[a.kind]! - KIND_RANK[b.kind]! || a.id.localeCompare(b.id));
        try {
          await runTask(due[0]!);
        } catch (err) {
          log?.error({ err, callId, task: due[0]!.kind }, "billing task failed");
          await retryLater(due[0]!, (err as Error).message ?? "error");
        }
      }
    } finally {
      await releaseLease(callId, owner);
    }
  }

  async function leaseOne(callId: string): Promise<string | null> {
    const owner = randomBytes(8).toString("hex");
    const t = now();
    const rows = await db.$queryRaw<{ id: string }[]>`
      UPDATE "calls" SET "lease_owner" = ${owner}, "lease_until" = ${new Date(t.getTime() + LEASE_MS)}
      WHERE "id" IN (
        SELECT "id" FROM "calls" WHERE "id" = ${callId}::uuid AND ("lease_until" IS NULL OR "lease_until" < ${t})
        FOR UPDATE SKIP LOCKED)
      RETURNING "id"`;
    return rows.length ? owner : null;
  }

  let ticking: Promise<number> = Promise.resolve(0);

  return {
    schedule,
    markEnded,

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

    /** Runs a call's due work now (e.g. right after an end request), waiting briefly for another worker's lease. */
    async runCall(callId: string, waitMs = 3000): Promise<boolean> {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const owner = await leaseOne(callId);
        if (owner) {
          await drain(callId, owner);
          return true;
        }
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
    },

    /**
     * Claims calls with due tasks (FOR UPDATE SKIP LOCKED: instances never wait on each other's
     * calls) and runs them. Ticks of one instance run one after another; resolves when this one is done.
     */
    tick(): Promise<number> {
      const run = async () => {
        let total = 0;
        for (let round = 0; round < 100; round++) {
          const owner = randomBytes(8).toString("hex");
          const t = now();
          const claimed = await db.$queryRaw<{ id: string }[]>`
            UPDATE "calls" SET "lease_owner" = ${owner}, "lease_until" = ${new Date(t.getTime() + LEASE_MS)}
            WHERE "id" IN (
              SELECT c."id" FROM "calls" c
              WHERE (c."lease_until" IS NULL OR c."lease_until" < ${t})
                AND EXISTS (SELECT 1 FROM "call_tasks" k WHERE k."call_id" = c."id" AND k."status" = 'pending' AND k."due_at" <= ${t})
              ORDER BY c."id"
              LIMIT 20
              FOR UPDATE OF c SKIP LOCKED)
            RETURNING "id"`;
          if (claimed.length === 0) break;
          for (const { id } of claimed) await drain(id, owner);
          total += claimed.length;
        }
        return total;
      };
      ticking = ticking.then(run, run);
      return ticking;
    },
  };
}

export type BillingEngine = ReturnType<typeof billingEngine>;
