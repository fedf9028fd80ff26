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
import { sqlTag, type Sql } from "../../db/client.ts";
import type { Clock } from "../../domain/ports/clock.ts";
import { randomUUID } from "node:crypto";
import { PaymentsRefused, type AccountState, type CaptureResult, type HoldResult, type PaymentProvider, type RefundResult } from "../../domain/ports/payments.ts";

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

interface IntentRow {
  amount_cents: number;
  status: string;
  created_at: Date;
}

/** Its records are written with raw statements (Database.sql): a boundary is a few of them for every call at once. */
export function simulatedPayments(sql: Sql, clock: Clock, publicUrl = "http://localhost:3000"): PaymentProvider {
  const q = sqlTag(sql);
  const now = () => new Date(clock.now());
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
    const claimId = randomUUID();
    const claimed = await q`
      INSERT INTO "sim_payment_requests" ("id", "idempotency_key", "action", "replayed", "outcome", "created_at")
      VALUES (${claimId}::uuid, ${key}, ${action}, false, ${IN_FLIGHT}, ${now()})
      ON CONFLICT ("idempotency_key") WHERE NOT "replayed" DO NOTHING
      RETURNING 1`;
    if (claimed.length === 1) {
      let outcome: T;
      try {
        outcome = await effect();
      } catch (err) {
        await q`DELETE FROM "sim_payment_requests" WHERE "id" = ${claimId}::uuid`;
        throw err;
      }
      await q`UPDATE "sim_payment_requests" SET "outcome" = ${JSON.stringify(outcome)} WHERE "id" = ${claimId}::uuid`;
      return outcome;
    }
    for (let waited = 0; waited < 5000; waited += 20) {
      const first = await firstOutcome(key);
      if (first !== null && first !== IN_FLIGHT) {
        await q`
          INSERT INTO "sim_payment_requests" ("id", "idempotency_key", "action", "replayed", "outcome", "created_at")
          VALUES (${randomUUID()}::uuid, ${key}, ${action}, true, ${first}, ${now()})`;
        return JSON.parse(first) as T;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`idempotency_key_in_use: another ${action} request with this key is in progress`);
  }

  /** The outcome recorded by the first request with `key` (IN_FLIGHT while it runs); null if none. */
  async function firstOutcome(key: string): Promise<string | null> {
    const [first] = await q<{ outcome: string }>`
      SELECT "outcome" FROM "sim_payment_requests" WHERE "idempotency_key" = ${key} AND NOT "replayed" LIMIT 1`;
    return first?.outcome ?? null;
  }

  const intent = async (holdRef: string) =>
    (await q<IntentRow>`SELECT "amount_cents", "status", "created_at" FROM "sim_payment_intents" WHERE "id" = ${holdRef}`)[0];

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
          const earlier = await q`SELECT 1 FROM "sim_payment_intents" WHERE "reference" = ${reference} AND "payment_method" = ${paymentMethodId} LIMIT 1`;
          if (earlier.length > 0) declineCode = "insufficient_funds";
        }
        if (declineCode) return { ok: false, declineCode };
        const holdRef = `pi_sim_${token()}`;
        await q`
          INSERT INTO "sim_payment_intents" ("id", "payment_method", "reference", "amount_cents", "status", "created_at")
          VALUES (${holdRef}, ${paymentMethodId}, ${reference}, ${amountCents}, 'requires_capture', ${now()})`;
        return { ok: true, holdRef };
      }),

    capture: ({ holdRef, amountCents, idempotencyKey }) =>
      once<CaptureResult>(idempotencyKey, "capture", async () => {
        // One conditional update; the intent is read only to say why it did not apply.
        const captured = await q`
          UPDATE "sim_payment_intents" SET "status" = 'succeeded', "captured_cents" = ${amountCents}
          WHERE "id" = ${holdRef} AND "status" = 'requires_capture' AND "amount_cents" >= ${amountCents}
          RETURNING 1`;
        if (captured.length === 1) return { ok: true };
        const found = await intent(holdRef);
        if (found?.status === "canceled") return { ok: false, error: "hold_canceled", final: true };
        if (!found || found.status !== "requires_capture") return { ok: false, error: "payment_intent_unexpected_state", final: false };
        return { ok: false, error: "amount_too_large", final: false };
      }),

    release: async ({ holdRef, idempotencyKey }) => {
      await once(idempotencyKey, "release", async () => {
        await q`UPDATE "sim_payment_intents" SET "status" = 'canceled' WHERE "id" = ${holdRef} AND "status" = 'requires_capture'`;
        return { ok: true };
      });
    },

    async findHold({ idempotencyKey }) {
      const first = await firstOutcome(idempotencyKey);
      if (first === null || first === IN_FLIGHT) return null;
      const outcome = JSON.parse(first) as HoldResult;
      return outcome.ok ? outcome.holdRef : null;
    },

    async holdState(holdRef) {
      const found = await intent(holdRef);
      if (!found) return null;
      const status = ["requires_capture", "succeeded", "canceled"].includes(found.status) ? (found.status as "succeeded") : "other";
      return { holdRef, status, amountCents: found.amount_cents, customerRef: null, payeeRef: null, createdAt: found.created_at };
    },

    refund: ({ holdRef, amountCents, reason, idempotencyKey }) =>
      once<RefundResult>(idempotencyKey, "refund", async () => {
        // One conditional update: two refunds at once never take more than was captured.
        const taken = await q`
          UPDATE "sim_payment_intents" SET "refunded_cents" = "refunded_cents" + ${amountCents}
          WHERE "id" = ${holdRef} AND "status" = 'succeeded' AND "refunded_cents" + ${amountCents} <= "captured_cents"
          RETURNING 1`;
        if (taken.length !== 1) throw new PaymentsRefused("amount_too_large", "the refund is more than what is left to refund");
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
