// The simulated provider (PAYMENTS_PROVIDER=simulated, the default): card authorisations kept in
// the database with Stripe test-mode semantics. Test payment methods:
//   pm_card_visa, pm_card_mastercard     always authorise
//   pm_card_chargeDeclined               declines (generic_decline)
//   pm_card_insufficientFunds            declines (insufficient_funds)
//   pm_card_declineAfterFirstHold        authorises the first hold of a reference (a call), declines
//                                        every later one (insufficient_funds)
// Any other payment method is declined (invalid_payment_method). Every request is recorded in
// sim_payment_requests; a repeated idempotency key replays the first outcome and changes nothing.
// Customers and card-saving sessions are simulated ids; every host can take payments at once (no
// onboarding); balances are computed by the payments service (net available after a delay).
import { randomBytes } from "node:crypto";
import type { Db } from "../../db/client.ts";
import type { Clock } from "../../domain/clock.ts";
import { uuidv7 } from "../../domain/ids.ts";
import { PaymentsRefused, type AccountState, type CaptureResult, type HoldResult, type PaymentProvider, type RefundResult } from "./port.ts";

const ALWAYS_OK = new Set(["pm_card_visa", "pm_card_mastercard"]);
const DECLINES: Record<string, string> = {
  pm_card_chargeDeclined: "generic_decline",
  pm_card_insufficientFunds: "insufficient_funds",
};
export const DECLINE_AFTER_FIRST_HOLD = "pm_card_declineAfterFirstHold";
export const TEST_PAYMENT_METHODS = [...ALWAYS_OK, ...Object.keys(DECLINES), DECLINE_AFTER_FIRST_HOLD];
/** The outcome of a request that is still running. */
const IN_FLIGHT = "in_flight";

const token = () => randomBytes(12).toString("hex");

export function simulatedPayments(db: Db, clock: Clock, publicUrl = "http://localhost:3000"): PaymentProvider {
  const enabled = (accountRef: string): AccountState => ({
    accountRef,
    chargesEnabled: true,
    payoutsEnabled: true,
    detailsSubmitted: true,
    requirementsDue: [],
    disabledReason: null,
  });

  /**
   * Runs `effect` once per idempotency key; later requests with the key get the first outcome. As
   * at Stripe, two requests with one key at the same moment never both run: the first claims the
   * key (a unique index on the first request's row), the other waits briefly for its outcome and
   * otherwise fails (Stripe's 409 idempotency_key_in_use), to be retried by its caller.
   */
  async function once<T>(key: string, action: string, effect: () => Promise<T>): Promise<T> {
    const claimId = uuidv7(clock);
    const claimed = await db.$executeRaw`
      INSERT INTO "sim_payment_requests" ("id", "idempotency_key", "action", "replayed", "outcome", "created_at")
      VALUES (${claimId}::uuid, ${key}, ${action}, false, ${IN_FLIGHT}, ${new Date(clock.now())})
      ON CONFLICT ("idempotency_key") WHERE NOT "replayed" DO NOTHING`;
    if (claimed === 1) {
      let outcome: T;
      try {
        outcome = await effect();
      } catch (err) {
        await db.simPaymentRequest.deleteMany({ where: { id: claimId } });
        throw err;
      }
      await db.simPaymentRequest.update({ where: { id: claimId }, data: { outcome: JSON.stringify(outcome) } });
      return outcome;
    }
    for (let waited = 0; waited < 5000; waited += 20) {
      const first = await db.simPaymentRequest.findFirst({ where: { idempotencyKey: key, replayed: false } });
      if (first && first.outcome !== IN_FLIGHT) {
        await db.simPaymentRequest.create({
          data: { id: uuidv7(clock), idempotencyKey: key, action, replayed: true, outcome: first.outcome, createdAt: new Date(clock.now()) },
        });
        return JSON.parse(first.outcome) as T;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`idempotency_key_in_use: another ${action} request with this key is in progress`);
  }

  return {
    name: "simulated",
    publishableKey: "pk_test_simulated",
    testPaymentMethods: TEST_PAYMENT_METHODS,
    requiresOnboarding: false,

    hold: ({ paymentMethodId, amountCents, reference, idempotencyKey }) =>
      once<HoldResult>(idempotencyKey, "hold", async () => {
        let declineCode = DECLINES[paymentMethodId];
        if (!declineCode && !ALWAYS_OK.has(paymentMethodId) && paymentMethodId !== DECLINE_AFTER_FIRST_HOLD) {
          declineCode = "invalid_payment_method";
        }
        if (!declineCode && paymentMethodId === DECLINE_AFTER_FIRST_HOLD) {
          const earlier = await db.simPaymentIntent.count({ where: { reference, paymentMethod: paymentMethodId } });
          if (earlier > 0) declineCode = "insufficient_funds";
        }
        if (declineCode) return { ok: false, declineCode };
        const holdRef = `pi_sim_${token()}`;
        await db.simPaymentIntent.create({
          data: {
            id: holdRef,
            paymentMethod: paymentMethodId,
            reference,
            amountCents,
            status: "requires_capture",
            createdAt: new Date(clock.now()),
          },
        });
        return { ok: true, holdRef };
      }),

    capture: ({ holdRef, amountCents, idempotencyKey }) =>
      once<CaptureResult>(idempotencyKey, "capture", async () => {
        const intent = await db.simPaymentIntent.findUnique({ where: { id: holdRef } });
        if (intent?.status === "canceled") return { ok: false, error: "hold_canceled", final: true };
        if (!intent || intent.status !== "requires_capture") return { ok: false, error: "payment_intent_unexpected_state", final: false };
        if (amountCents > intent.amountCents) return { ok: false, error: "amount_too_large", final: false };
        await db.simPaymentIntent.update({ where: { id: holdRef }, data: { status: "succeeded", capturedCents: amountCents } });
        return { ok: true };
      }),

    release: async ({ holdRef, idempotencyKey }) => {
      await once(idempotencyKey, "release", async () => {
        await db.simPaymentIntent.updateMany({ where: { id: holdRef, status: "requires_capture" }, data: { status: "canceled" } });
        return { ok: true };
      });
    },

    async findHold({ idempotencyKey }) {
      const first = await db.simPaymentRequest.findFirst({ where: { idempotencyKey, replayed: false } });
      if (!first || first.outcome === IN_FLIGHT) return null;
      const outcome = JSON.parse(first.outcome) as HoldResult;
      return outcome.ok ? outcome.holdRef : null;
    },

    async holdState(holdRef) {
      const intent = await db.simPaymentIntent.findUnique({ where: { id: holdRef } });
      if (!intent) return null;
      const status = ["requires_capture", "succeeded", "canceled"].includes(intent.status) ? (intent.status as "succeeded") : "other";
      return { holdRef, status, amountCents: intent.amountCents, customerRef: null, payeeRef: null, createdAt: intent.createdAt };
    },

    refund: ({ holdRef, amountCents, reason, idempotencyKey }) =>
      once<RefundResult>(idempotencyKey, "refund", async () => {
        // One conditional update: two refunds at once never take more than was captured.
        const taken = await db.$executeRaw`
          UPDATE "sim_payment_intents" SET "refunded_cents" = "refunded_cents" + ${amountCents}
          WHERE "id" = ${holdRef} AND "status" = 'succeeded' AND "refunded_cents" + ${amountCents} <= "captured_cents"`;
        if (taken !== 1) throw new PaymentsRefused("amount_too_large", "the refund is more than what is left to refund");
        return { refundRef: `re_sim_${token()}`, amountCents, status: "succeeded", reason, createdAt: new Date(clock.now()), requestKey: idempotencyKey };
      }).then((r) => ({ ...r, createdAt: new Date(r.createdAt) })),

    // Refunds happen only through this service here, which records each one itself.
    refunds: async () => [],

    createCustomer: async ({ ownerId }) => `cus_sim_${ownerId.replaceAll("-", "")}`,
    setupIntent: async () => ({ clientSecret: `seti_sim_${token()}_secret_${token()}` }),

    createAccount: async ({ userId }) => enabled(`acct_sim_${userId.replaceAll("-", "")}`),
    account: async (accountRef) => enabled(accountRef),
    onboardingLink: async (_ref, { returnUrl }) => returnUrl,
    dashboardLink: async () => `${publicUrl}/host`,
    balance: async () => null,
  };
}
