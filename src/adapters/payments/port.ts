// The payment port: card authorisations (holds) that are later captured in full or in part, or
// released. Every request carries an idempotency key derived from (call, window, action), so a
// retried request never charges twice.

export type HoldResult = { ok: true; holdRef: string } | { ok: false; declineCode: string };
export type CaptureResult = { ok: true } | { ok: false; error: string };

export interface PaymentProvider {
  readonly name: string;
  /** Authorise `amountCents` on the payment method (Stripe: a PaymentIntent with capture_method manual). */
  hold(input: { paymentMethodId: string; amountCents: number; reference: string; idempotencyKey: string }): Promise<HoldResult>;
  /** Capture `amountCents` (≤ the held amount) of a hold; the rest is released. */
  capture(input: { holdRef: string; amountCents: number; idempotencyKey: string }): Promise<CaptureResult>;
  /** Release a hold without charging (Stripe: cancel the PaymentIntent). */
  release(input: { holdRef: string; idempotencyKey: string }): Promise<void>;
}
