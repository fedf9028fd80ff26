// A payment provider whose hold and capture answers are counted (the metrics port); everything
// else is the provider's own. Counted at the provider's edge, so that every request is, whichever
// step made it (initiate, the billing engine).
import type { Metrics } from "../../domain/ports/metrics.ts";
import { PaymentsRefused, type PaymentProvider } from "../../domain/ports/payments.ts";

export function countedPayments(provider: PaymentProvider, metrics: Metrics): PaymentProvider {
  // The provider as prototype, not copied: a test's provider may be a Proxy, whose members are not its own.
  const counted: Pick<PaymentProvider, "hold" | "capture"> = {
    async hold(input) {
      try {
        const res = await provider.hold(input);
        metrics.hold(res.ok ? "placed" : res.action ? "action_required" : "declined");
        return res;
      } catch (err) {
        // A refusal is a decline to the engine too (billing.ts, placeHold).
        metrics.hold(err instanceof PaymentsRefused ? "declined" : "failed");
        throw err;
      }
    },
    async capture(input) {
      try {
        const res = await provider.capture(input);
        metrics.capture(res.ok ? "captured" : res.final ? "expired" : "failed", res.ok ? input.amountCents : 0);
        return res;
      } catch (err) {
        metrics.capture("failed", 0);
        throw err;
      }
    },
  };
  return Object.assign(Object.create(provider) as PaymentProvider, counted);
}
