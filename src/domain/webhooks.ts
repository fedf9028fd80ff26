// Webhook events from the payment provider (Stripe), each applied exactly once.
//
// Stripe delivers an event at least once, possibly late, out of order and several times at once.
// Exactly-once comes from a claim and idempotent effects, not from a transaction (the embedded
// database has a single connection, so a long interactive transaction would hold up every request):
//   claim     a webhook_events row per event id, taken for CLAIM_MS; a copy that arrives while it is
//             held answers 409 (Stripe retries it), one that arrives after it was processed is a
//             duplicate. A claim whose holder died lapses and the next delivery takes it over.
//   effects   each one keyed by the provider's id (createMany skipDuplicates, conditional updates),
//             so an attempt that died half-way and its re-delivery still apply every effect once.
//   ordering  states carry the provider's time (event.created): an older event never overwrites a
//             newer state, and a final status (a dispute won or lost, a payout paid) is kept.
// A failure while applying releases the claim and answers 500; Stripe delivers the event again.
import { sqlTag, type Db, type Sql } from "../db/client.ts";
import type { AccountState, PaymentProvider, WebhookEvent } from "./ports/payments.ts";
import { recordCapture } from "./billing.ts";
import { recordRefund } from "./payments.ts";
import type { MoneyNotices } from "./notifications.ts";
import type { Clock } from "./ports/clock.ts";
import { noMetrics, type Metrics } from "./ports/metrics.ts";
import { applyAccountState } from "./connect.ts";
import { AppError, validationError } from "./errors.ts";
import { uuidv7 } from "./ids.ts";
import { split } from "./money.ts";

/** How long one delivery holds an event; longer than any processing (a few provider requests). */
export const CLAIM_MS = 30_000;

const DISPUTE_FINAL = ["won", "lost", "warning_closed"];
const PAYOUT_FINAL = ["paid", "failed", "canceled"];

type Log = { info(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };
type Obj = WebhookEvent["object"];

const str = (o: Obj, key: string): string | null => (typeof o[key] === "string" ? (o[key] as string) : null);
const int = (o: Obj, key: string): number | null => (Number.isSafeInteger(o[key]) ? (o[key] as number) : null);
/** An id field that Stripe sends as a string or, expanded, as the object. */
const ref = (o: Obj, key: string): string | null => {
  const v = o[key];
  if (typeof v === "string") return v;
  return v && typeof v === "object" && typeof (v as Obj).id === "string" ? ((v as Obj).id as string) : null;
};


/**
 * The stored rows an incoming status at `at` may replace: a final status replaces any non-final one
 * and an older final one; a non-final status replaces only an older non-final one.
 */
function replaceable(status: string, at: Date, finals: string[]) {
  const older = { statusAt: { lte: at } };
  const notFinal = { status: { notIn: finals } };
  return finals.includes(status) ? { OR: [notFinal, older] } : { AND: [notFinal, older] };
}

export function webhooks({ db, sql, clock, provider, notices, log, metrics = noMetrics }: { db: Db; sql: Sql; clock: Clock; provider: PaymentProvider; notices: MoneyNotices; log: Log; metrics?: Metrics }) {
  const now = () => new Date(clock.now());
  const q = sqlTag(sql);

  function verify(raw: Buffer, signature: string | undefined): WebhookEvent {
    if (!provider.verifyWebhook) {
      throw validationError({ "stripe-signature": "webhooks are not accepted with this payment provider" });
    }
    if (!signature) throw validationError({ "stripe-signature": "is required" });
    let event: WebhookEvent;
    try {
      event = provider.verifyWebhook(raw, signature);
    } catch {
      throw validationError({ "stripe-signature": "is not valid" });
    }
    // Signed, but not an event (the signature covers any body).
    const valid =
      typeof event.id === "string" && event.id.length > 0 && event.id.length <= 255 && typeof event.type === "string" &&
      event.object !== null && typeof event.object === "object" && !Number.isNaN(event.created.getTime());
    if (!valid) throw validationError({ "stripe-signature": "is not valid" });
    return event;
  }

  /** Takes the event for this delivery: its claim's end, or "duplicate" when it was processed. */
  async function claim(event: WebhookEvent): Promise<Date | "duplicate"> {
    const t = now();
    const until = new Date(t.getTime() + CLAIM_MS);
    const created = await db.webhookEvent.createMany({
      data: [{ id: event.id, type: event.type, receivedAt: t, claimedUntil: until }],
      skipDuplicates: true,
    });
    if (created.count === 1) return until;
    const stored = await db.webhookEvent.findUnique({ where: { id: event.id } });
    if (stored?.processedAt) return "duplicate";
    const busy = new AppError("conflict", { event: "is being processed" });
    if (!stored || (stored.claimedUntil && stored.claimedUntil > t)) throw busy;
    // The claim lapsed (its holder died) or was given up after a failure: taken over by exactly one delivery.
    const taken = await db.webhookEvent.updateMany({
      where: { id: event.id, processedAt: null, claimedUntil: stored.claimedUntil },
      data: { claimedUntil: until },
    });
    if (taken.count === 1) return until;
    const again = await db.webhookEvent.findUnique({ where: { id: event.id }, select: { processedAt: true } });
    if (again?.processedAt) return "duplicate";
    throw busy;
  }

  /** The capture of a payment (a window's hold), by its reference or through its window. */
  async function captureOf(paymentRef: string) {
    const direct = await db.capture.findFirst({ where: { paymentRef } });
    if (direct) return direct;
    const win = await db.billingWindow.findFirst({ where: { holdRef: paymentRef }, select: { callId: true, index: true } });
    if (!win) return null;
    const capture = await db.capture.findUnique({ where: { callId_windowIndex: { callId: win.callId, windowIndex: win.index } } });
    // A window of ours whose capture is not recorded yet: the event is applied once it is (Stripe retries).
    if (!capture) throw new Error(`payment ${paymentRef} has no recorded capture yet`);
    return capture;
  }

  /** The payment captured in full or in part: recorded here if the capture's answer was lost. */
  async function paymentSucceeded(pi: Obj) {
    const holdRef = str(pi, "id");
    const amount = int(pi, "amount_received");
    const win = holdRef ? await db.billingWindow.findFirst({ where: { holdRef }, include: { call: true } }) : null;
    if (!win || !holdRef) return log.info({ payment: holdRef }, "webhook: a payment that is not a call's hold");
    if (amount && amount > 0) {
      await recordCapture(q, {
        id: uuidv7(clock), callId: win.callId, windowIndex: win.index, hostId: win.call.hostId, guestId: win.call.guestId,
        ...split(amount), paymentRef: holdRef, createdAt: now(),
      });
    }
    await db.billingWindow.updateMany({ where: { id: win.id, holdStatus: { not: "captured" } }, data: { holdStatus: "captured", updatedAt: now() } });
  }

  /** Stripe cancelled a hold (its authorization expired): the window has nothing left to capture. */
  async function paymentCanceled(pi: Obj) {
    const holdRef = str(pi, "id");
    if (!holdRef) return;
    const expired = await db.billingWindow.updateMany({ where: { holdRef, holdStatus: "held" }, data: { holdStatus: "expired", updatedAt: now() } });
    if (expired.count > 0) log.warn({ payment: holdRef, reason: str(pi, "cancellation_reason") }, "webhook: a held window's authorization was cancelled");
  }

  /** Every refund of the charge's payment, wherever it was made (here or at the dashboard). */
  async function chargeRefunded(charge: Obj) {
    const paymentRef = ref(charge, "payment_intent");
    const capture = paymentRef ? await captureOf(paymentRef) : null;
    if (!capture || !paymentRef) return log.info({ charge: str(charge, "id") }, "webhook: a refund of a payment that is not a capture");
    // Oldest first, so that each refund's share of the fee follows the running total.
    const refunds = (await provider.refunds(paymentRef)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    for (const r of refunds) await recordRefund(db, clock, capture, r, notices);
  }

  async function dispute(d: Obj, at: Date) {
    const id = str(d, "id");
    const charge = d.charge && typeof d.charge === "object" ? (d.charge as Obj) : null;
    const paymentRef = ref(d, "payment_intent") ?? (charge ? ref(charge, "payment_intent") : null);
    const capture = paymentRef ? await captureOf(paymentRef) : null;
    if (!id || !capture) return log.warn({ dispute: id, payment: paymentRef }, "webhook: a dispute of a payment that is not a capture");
    const state = { amountCents: int(d, "amount") ?? capture.grossCents, status: str(d, "status") ?? "needs_response", reason: str(d, "reason") ?? "general" };
    const created = await db.dispute.createMany({
      data: [{ id: uuidv7(clock), captureId: capture.id, hostId: capture.hostId, providerRef: id, ...state, statusAt: at, createdAt: now(), updatedAt: now() }],
      skipDuplicates: true,
    });
    if (created.count === 0) {
      await db.dispute.updateMany({
        where: { providerRef: id, ...replaceable(state.status, at, DISPUTE_FINAL) },
        data: { ...state, statusAt: at, updatedAt: now() },
      });
    }
  }

  async function accountUpdated(state: AccountState | undefined, created: Date) {
    if (!state) return;
    // An event's time is whole seconds, a refresh from the provider's API is stored to the
    // millisecond: an event counts as of the end of its second, so that a change made in the same
    // second as a refresh (which may have read the state before it) is not taken for older.
    const at = new Date(created.getTime() + 999);
    if (!(await applyAccountState(db, state, at, now()))) log.info({ account: state.accountRef }, "webhook: an account that is not a host's");
  }

  async function payout(p: Obj, account: string | null, at: Date) {
    const id = str(p, "id");
    const owner = account ? await db.connectAccount.findUnique({ where: { accountRef: account }, select: { userId: true } }) : null;
    if (!id || !owner) return log.warn({ payout: id, account }, "webhook: a payout of an account that is not a host's");
    const arrival = int(p, "arrival_date");
    const state = {
      amountCents: int(p, "amount") ?? 0,
      currency: str(p, "currency") ?? "usd",
      status: str(p, "status") ?? "pending",
      arrivalAt: arrival === null ? null : new Date(arrival * 1000),
      failureCode: str(p, "failure_code"),
    };
    const created = await db.payout.createMany({
      data: [{ id: uuidv7(clock), userId: owner.userId, providerRef: id, ...state, statusAt: at, createdAt: now() }],
      skipDuplicates: true,
    });
    if (created.count === 0) {
      await db.payout.updateMany({ where: { providerRef: id, ...replaceable(state.status, at, PAYOUT_FINAL) }, data: { ...state, statusAt: at } });
    }
    await notices.payout(await db.payout.findUniqueOrThrow({ where: { providerRef: id } }));
  }

  const handlers = new Map<string, (e: WebhookEvent) => Promise<void>>([
    ["payment_intent.succeeded", (e) => paymentSucceeded(e.object)],
    ["payment_intent.canceled", (e) => paymentCanceled(e.object)],
    // Declines are seen in the answer to the hold request itself.
    ["payment_intent.payment_failed", async (e) => log.info({ payment: e.object.id }, "webhook: payment failed")],
    ["charge.refunded", (e) => chargeRefunded(e.object)],
    // A refund's later status (failed, canceled): the same listing brings every refund up to date.
    ["charge.refund.updated", (e) => chargeRefunded(e.object)],
    ["refund.updated", (e) => chargeRefunded(e.object)],
    ["refund.failed", (e) => chargeRefunded(e.object)],
    ["charge.dispute.created", (e) => dispute(e.object, e.created)],
    ["charge.dispute.updated", (e) => dispute(e.object, e.created)],
    ["charge.dispute.closed", (e) => dispute(e.object, e.created)],
    ["account.updated", (e) => accountUpdated(e.accountState, e.created)],
    ...["created", "updated", "paid", "failed", "canceled"].map(
      (s) => [`payout.${s}`, (e: WebhookEvent) => payout(e.object, e.account, e.created)] as const,
    ),
  ]);

  return {
    /** Verifies, claims and applies one delivery. */
    async receive(raw: Buffer, signature: string | undefined): Promise<{ duplicate: boolean }> {
      let event: WebhookEvent;
      try {
        event = verify(raw, signature);
      } catch (err) {
        metrics.webhookEvent("unknown", "rejected");
        throw err;
      }
      // Counted by the types handled here; any other type (the provider has hundreds) as "other".
      const type = handlers.has(event.type) ? event.type : "other";
      const claimed = await claim(event);
      if (claimed === "duplicate") {
        metrics.webhookEvent(type, "duplicate");
        return { duplicate: true };
      }
      try {
        await handlers.get(event.type)?.(event);
      } catch (err) {
        metrics.webhookEvent(type, "failed");
        // Given up at once so that the next delivery applies it (else it lapses after CLAIM_MS).
        await db.webhookEvent.updateMany({ where: { id: event.id, claimedUntil: claimed }, data: { claimedUntil: null } }).catch(() => {});
        log.warn({ err, event: event.id, type: event.type }, "webhook: applying the event failed; the provider delivers it again");
        throw new AppError("internal_error", null, { cause: err });
      }
      await db.webhookEvent.updateMany({ where: { id: event.id }, data: { processedAt: now(), claimedUntil: null } });
      metrics.webhookEvent(type, "processed");
      return { duplicate: false };
    },
  };
}

export type Webhooks = ReturnType<typeof webhooks>;
