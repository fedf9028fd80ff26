// The simulated provider (PAYMENTS_PROVIDER=simulated, the default): card authorisations kept in
// the database with Stripe test-mode semantics. Test payment methods:
//   pm_card_visa, pm_card_mastercard     always authorise
//   pm_card_chargeDeclined               declines (generic_decline)
//   pm_card_insufficientFunds            declines (insufficient_funds)
//   pm_card_declineAfterFirstHold        authorises the first hold of a reference (a call), declines
//                                        every later one (insufficient_funds)
// Any other payment method is declined (invalid_payment_method). Every request is recorded in
// sim_payment_requests; a repeated idempotency key replays the first outcome and changes nothing.
import { randomBytes } from "node:crypto";
import type { Db } from "../../db/client.ts";
import type { Clock } from "../../domain/clock.ts";
import { uuidv7 } from "../../domain/ids.ts";
import type { CaptureResult, HoldResult, PaymentProvider } from "./port.ts";

const ALWAYS_OK = new Set(["pm_card_visa", "pm_card_mastercard"]);
const DECLINES: Record<string, string> = {
  pm_card_chargeDeclined: "generic_decline",
  pm_card_insufficientFunds: "insufficient_funds",
};
export const DECLINE_AFTER_FIRST_HOLD = "pm_card_declineAfterFirstHold";
/** The outcome of a request that is still running. */
const IN_FLIGHT = "in_flight";

export function simulatedPayments(db: Db, clock: Clock): PaymentProvider {
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
        const holdRef = `pi_sim_${randomBytes(12).toString("hex")}`;
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
        if (!intent || intent.status !== "requires_capture") return { ok: false, error: "payment_intent_unexpected_state" };
        if (amountCents > intent.amountCents) return { ok: false, error: "amount_too_large" };
        await db.simPaymentIntent.update({ where: { id: holdRef }, data: { status: "succeeded", capturedCents: amountCents } });
        return { ok: true };
      }),

    release: async ({ holdRef, idempotencyKey }) => {
      await once(idempotencyKey, "release", async () => {
        await db.simPaymentIntent.updateMany({ where: { id: holdRef, status: "requires_capture" }, data: { status: "canceled" } });
        return { ok: true };
      });
    },
  };
}
