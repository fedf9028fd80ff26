// The payment port: card authorisations (holds) that are later captured in full or in part, or
// released; the payer's customer and saved cards; hosts' connected accounts that receive the net of
// each capture; refunds. Every money-moving request carries an idempotency key derived from
// (call, window, action) or from the client's own key, so a retried request never charges twice.
//
// Failures: a declined card is a result ({ok: false, declineCode}); a provider that cannot be
// reached or asks us to slow down throws PaymentsUnavailable (the request answers 503 with
// Retry-After, the billing engine retries with backoff); any other refusal the client can act on
// throws PaymentsRefused (402 stripe_error).

export type HoldResult =
  | { ok: true; holdRef: string }
  | {
      ok: false;
      declineCode: string;
      /** The provider's payment that needs the customer (3-D Secure): its id and client secret. */
      action?: { holdRef: string; clientSecret: string };
    };
/** `final` when the hold can never be captured (it expired or was cancelled at the provider). */
export type CaptureResult = { ok: true } | { ok: false; error: string; final: boolean };

export interface HoldInput {
  paymentMethodId: string;
  /** The payer's customer (Stripe requires it for holds placed without the customer present). */
  customerRef: string | null;
  amountCents: number;
  /** The platform fee of the whole hold; the capture sets the fee of the amount actually taken. */
  feeCents: number;
  /** The host's connected account that receives the net (destination charge). */
  payeeRef: string | null;
  /** The call the hold is for, and its window. */
  reference: string;
  window: number;
  /** True for every hold after the first: the customer is not there to authenticate. */
  offSession: boolean;
  idempotencyKey: string;
}

export interface HoldState {
  holdRef: string;
  status: "requires_action" | "requires_capture" | "succeeded" | "canceled" | "other";
  amountCents: number;
  customerRef: string | null;
  payeeRef: string | null;
  createdAt: Date;
}

export interface AccountState {
  accountRef: string;
  chargesEnabled: boolean;
  payoutsEnabled: boolean;
  detailsSubmitted: boolean;
  requirementsDue: string[];
  disabledReason: string | null;
}

export interface RefundResult {
  refundRef: string;
  amountCents: number;
  status: string;
  reason: string;
  createdAt: Date;
  /** The idempotency key of the request that made it (kept with the refund at the provider); null when made elsewhere. */
  requestKey: string | null;
}

export interface Balance {
  available: { currency: string; amountCents: number }[];
  pending: { currency: string; amountCents: number }[];
}

/** A verified webhook event (Stripe's Event, the fields this service reads). */
export interface WebhookEvent {
  id: string;
  type: string;
  created: Date;
  /** The connected account the event is about (Connect events), or null. */
  account: string | null;
  object: Record<string, unknown> & { id?: string };
  /** For account events: the connected account's state, read from `object` by the adapter. */
  accountState?: AccountState;
}

export interface PaymentProvider {
  /** "simulated", "stripe" (or a test's wrapper of one). */
  readonly name: string;
  /** Handed to clients (Stripe.js). */
  readonly publishableKey: string;
  /** The payment method ids a client may use without saving a card (simulated), or null. */
  readonly testPaymentMethods: readonly string[] | null;
  /** False when every host can take payments without onboarding (simulated). */
  readonly requiresOnboarding: boolean;

  /** Authorise `amountCents` on the payment method (Stripe: a PaymentIntent with capture_method manual). */
  hold(input: HoldInput): Promise<HoldResult>;
  /**
   * The hold a request (same call and window) placed, if it ever reached the provider; found
   * without placing one (Stripe: the customer's PaymentIntents by their metadata).
   */
  findHold(input: HoldInput): Promise<string | null>;
  /** A hold's current state at the provider (null when unknown). */
  holdState(holdRef: string): Promise<HoldState | null>;
  /** Capture `amountCents` (≤ the held amount) of a hold with its platform fee; the rest is released. */
  /** `feeCents` is null for a hold without a payee (no destination charge). */
  capture(input: { holdRef: string; amountCents: number; feeCents: number | null; idempotencyKey: string }): Promise<CaptureResult>;
  /** Release a hold without charging (Stripe: cancel the PaymentIntent). Releasing twice is fine. */
  release(input: { holdRef: string; idempotencyKey: string }): Promise<void>;
  /** Refund part of a captured hold, giving back the platform fee in proportion and reversing the host's transfer. */
  /** `connected`: the hold paid a host's connected account (its fee and transfer are given back in proportion). */
  refund(input: { holdRef: string; amountCents: number; reason: string; connected: boolean; idempotencyKey: string }): Promise<RefundResult>;
  /** Every refund of a captured hold (including those made at the provider's dashboard). */
  refunds(holdRef: string): Promise<RefundResult[]>;

  /** Creates the payer's customer. */
  createCustomer(input: { ownerKind: string; ownerId: string; idempotencyKey: string }): Promise<string>;
  /**
   * Deletes a payer's customer and the cards saved to it (an account's deletion); its past
   * payments stay at the provider, refundable. A customer already gone is not an error. Absent
   * when the provider keeps no customers (simulated).
   */
  deleteCustomer?(customerRef: string): Promise<void>;
  /** A card-saving session for the customer: the client secret the client confirms. */
  setupIntent(input: { customerRef: string; idempotencyKey?: string }): Promise<{ clientSecret: string }>;

  /** Creates a host's connected account. */
  createAccount(input: { userId: string; idempotencyKey: string }): Promise<AccountState>;
  account(accountRef: string): Promise<AccountState>;
  onboardingLink(accountRef: string, urls: { returnUrl: string; refreshUrl: string }): Promise<string>;
  dashboardLink(accountRef: string): Promise<string>;
  /** The connected account's balance; null when the provider keeps none (simulated: computed here). */
  balance(accountRef: string): Promise<Balance | null>;
  /**
   * Checks a webhook delivery's signature over the raw body and returns its event; throws when the
   * signature, its timestamp or the body is not valid. Absent when the provider sends no webhooks.
   */
  verifyWebhook?(raw: Buffer | string, signature: string): WebhookEvent;
}

/** The provider cannot be reached, failed, or rate-limits us: try again later. */
export class PaymentsUnavailable extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
  ) {
    super(message);
  }
}

/** The provider refused the request for a reason the client can act on (Stripe's error code in `code`). */
export class PaymentsRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
