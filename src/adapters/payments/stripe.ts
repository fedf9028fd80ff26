// The Stripe provider (PAYMENTS_PROVIDER=stripe), through the official SDK only.
//   holds      PaymentIntents with capture_method manual, the payer's customer and card, off_session
//              after the first; destination charges: transfer_data.destination = the host's
//              connected account and application_fee_amount = the platform fee (set again at capture
//              for the amount actually taken)
//   release    cancel; refunds give the fee back in proportion and reverse the host's transfer
//   hosts      Connect Express accounts, Account Links to onboard, login links to the dashboard
//   webhooks   the SDK's signature check over the raw body (300 s tolerance)
// Every POST carries an idempotency key from the caller; the SDK retries network failures and
// Stripe's 409/429/5xx with that same key, so a retry never creates a second object.
// The SDK (half a second of loading) is loaded by the first provider made, not by every start; with
// require, because verifyWebhook is synchronous and a webhook may arrive right after the start.
import { createRequire } from "node:module";
import type Stripe from "stripe";
import {
  PaymentsRefused,
  PaymentsUnavailable,
  type AccountState,
  type CaptureResult,
  type HoldResult,
  type HoldState,
  type PaymentProvider,
  type RefundResult,
  type WebhookEvent,
} from "../../domain/ports/payments.ts";

export interface StripeSettings {
  secretKey: string;
  publishableKey: string;
  /** The signing secrets of the webhook endpoints (the platform's, and the one for connected accounts). */
  webhookSecrets: string[];
  /** Only to point the SDK at a local Stripe-compatible server (tests). */
  apiBase?: string;
  /** Real-time budget per request, retries included. */
  timeoutMs?: number;
  maxNetworkRetries?: number;
  /** The service's clock (ms): a delivery's signature timestamp is checked against it. */
  now?: () => number;
}

export const WEBHOOK_TOLERANCE_SECONDS = 300;

let loaded: typeof Stripe | undefined;
const sdk = () => (loaded ??= createRequire(import.meta.url)("stripe") as typeof Stripe);

/** Maps the SDK's exceptions to the port's: unreachable or throttled → PaymentsUnavailable, else PaymentsRefused. */
function translate(err: unknown): never {
  const E = sdk().errors;
  if (err instanceof E.StripeRateLimitError) throw new PaymentsUnavailable("stripe rate limited the request", 2);
  // StripeAPIError also covers 409 idempotency_key_in_use (the same request still running).
  if (err instanceof E.StripeConnectionError || err instanceof E.StripeAPIError) throw new PaymentsUnavailable(`stripe unreachable: ${err.message}`);
  // Our own misconfiguration (a revoked key, a restricted key without a permission) or a bug (a key
  // reused with other parameters): nothing the client can act on, and never a card decline.
  if (err instanceof E.StripeAuthenticationError || err instanceof E.StripePermissionError || err instanceof E.StripeIdempotencyError) {
    throw new PaymentsUnavailable(`stripe refused this service's request (${err.type}): ${err.message}`, 30);
  }
  if (err instanceof E.StripeError) {
    if ((err.statusCode ?? 0) >= 500) throw new PaymentsUnavailable(`stripe failed: ${err.message}`);
    throw new PaymentsRefused(err.code ?? err.type, err.message);
  }
  throw err;
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    translate(err);
  }
}

/** A connected account as the port sees it (also the object of an account.updated event). */
export const accountStateOf = (a: Stripe.Account): AccountState => ({
  accountRef: a.id,
  chargesEnabled: a.charges_enabled ?? false,
  payoutsEnabled: a.payouts_enabled ?? false,
  detailsSubmitted: a.details_submitted ?? false,
  requirementsDue: [...new Set([...(a.requirements?.past_due ?? []), ...(a.requirements?.currently_due ?? [])])],
  disabledReason: a.requirements?.disabled_reason ?? null,
});

const refundResult = (r: Stripe.Refund): RefundResult => ({
  refundRef: r.id,
  amountCents: r.amount,
  status: r.status ?? "pending",
  reason: r.reason ?? "requested_by_customer",
  requestKey: r.metadata?.request_key ?? null,
  createdAt: new Date(r.created * 1000),
});

const idOf = (v: string | { id: string } | null | undefined) => (v == null ? null : typeof v === "string" ? v : v.id);

export function stripePayments(settings: StripeSettings): PaymentProvider {
  const base = settings.apiBase ? new URL(settings.apiBase) : null;
  const Sdk = sdk();
  const stripe = new Sdk(settings.secretKey, {
    maxNetworkRetries: settings.maxNetworkRetries ?? 2,
    timeout: settings.timeoutMs ?? 30_000,
    appInfo: { name: "vidivo-backend" },
    telemetry: false,
    ...(base ? { host: base.hostname, port: Number(base.port || (base.protocol === "https:" ? 443 : 80)), protocol: base.protocol === "https:" ? "https" : "http" } : {}),
  });

  async function holdState(holdRef: string): Promise<HoldState | null> {
    try {
      const pi = await stripe.paymentIntents.retrieve(holdRef);
      const known = ["requires_action", "requires_capture", "succeeded", "canceled"] as const;
      return {
        holdRef: pi.id,
        status: (known as readonly string[]).includes(pi.status) ? (pi.status as HoldState["status"]) : "other",
        amountCents: pi.amount,
        customerRef: idOf(pi.customer),
        payeeRef: idOf(pi.transfer_data?.destination),
        createdAt: new Date(pi.created * 1000),
      };
    } catch (err) {
      if (err instanceof Sdk.errors.StripeInvalidRequestError && err.code === "resource_missing") return null;
      translate(err);
    }
  }

  return {
    name: "stripe",
    publishableKey: settings.publishableKey,
    testPaymentMethods: null,
    requiresOnboarding: true,

    async hold(input): Promise<HoldResult> {
      const params: Stripe.PaymentIntentCreateParams = {
        amount: input.amountCents,
        currency: "usd",
        capture_method: "manual",
        confirm: true,
        payment_method: input.paymentMethodId,
        // Cards only, confirmed here: no redirect-based method could complete without the payer.
        automatic_payment_methods: { enabled: true, allow_redirects: "never" },
        metadata: { call_id: input.reference, window: String(input.window) },
        description: `Call ${input.reference}, window ${input.window}`,
        ...(input.customerRef ? { customer: input.customerRef } : {}),
        ...(input.offSession ? { off_session: true } : {}),
        ...(input.payeeRef ? { transfer_data: { destination: input.payeeRef }, application_fee_amount: input.feeCents } : {}),
      };
      let pi: Stripe.PaymentIntent;
      try {
        pi = await stripe.paymentIntents.create(params, { idempotencyKey: input.idempotencyKey });
      } catch (err) {
        if (err instanceof Sdk.errors.StripeCardError) return { ok: false, declineCode: err.decline_code || err.code || "card_declined" };
        translate(err);
      }
      if (pi.status === "requires_capture") return { ok: true, holdRef: pi.id };
      if (pi.status === "requires_action" && pi.client_secret) {
        return { ok: false, declineCode: "authentication_required", action: { holdRef: pi.id, clientSecret: pi.client_secret } };
      }
      return { ok: false, declineCode: pi.last_payment_error?.decline_code || pi.last_payment_error?.code || "generic_decline" };
    },

    holdState,

    async findHold({ customerRef, reference, window }) {
      if (!customerRef) return null;
      // Newest first; a call's holds are among its payer's most recent intents.
      const recent = await call(() => stripe.paymentIntents.list({ customer: customerRef, limit: 100 }));
      const found = recent.data.find((p) => p.metadata?.call_id === reference && p.metadata?.window === String(window));
      return found?.id ?? null;
    },

    async capture({ holdRef, amountCents, feeCents, idempotencyKey }): Promise<CaptureResult> {
      try {
        await stripe.paymentIntents.capture(
          holdRef,
          { amount_to_capture: amountCents, ...(feeCents !== null ? { application_fee_amount: feeCents } : {}) },
          { idempotencyKey },
        );
        return { ok: true };
      } catch (err) {
        if (err instanceof Sdk.errors.StripeInvalidRequestError && err.code === "payment_intent_unexpected_state") {
          // Captured already (an earlier attempt whose answer was lost), or no longer capturable.
          const state = await holdState(holdRef);
          if (state?.status === "succeeded") return { ok: true };
          if (state?.status === "canceled") return { ok: false, error: "hold_canceled", final: true };
        }
        try {
          translate(err);
        } catch (e) {
          return { ok: false, error: (e as Error).message, final: false };
        }
      }
    },

    async release({ holdRef, idempotencyKey }) {
      try {
        await stripe.paymentIntents.cancel(holdRef, {}, { idempotencyKey });
      } catch (err) {
        if (err instanceof Sdk.errors.StripeInvalidRequestError && err.code === "payment_intent_unexpected_state") {
          const state = await holdState(holdRef);
          if (state?.status === "canceled") return;
        }
        translate(err);
      }
    },

    async refund({ holdRef, amountCents, reason, idempotencyKey, connected }) {
      const refund = await call(() =>
        stripe.refunds.create(
          {
            payment_intent: holdRef,
            amount: amountCents,
            reason: reason as Stripe.RefundCreateParams.Reason,
            // Lets a webhook-recorded refund be recognised as this request's.
            metadata: { request_key: idempotencyKey },
            ...(connected ? { refund_application_fee: true, reverse_transfer: true } : {}),
          },
          { idempotencyKey },
        ),
      );
      return refundResult(refund);
    },

    async refunds(holdRef) {
      const all: RefundResult[] = [];
      await call(() => stripe.refunds.list({ payment_intent: holdRef, limit: 100 }).autoPagingEach((r) => void all.push(refundResult(r))));
      return all;
    },

    async createCustomer({ ownerKind, ownerId, idempotencyKey }) {
      const c = await call(() => stripe.customers.create({ metadata: { owner_kind: ownerKind, owner_id: ownerId } }, { idempotencyKey }));
      return c.id;
    },

    async deleteCustomer(customerRef) {
      try {
        await call(() => stripe.customers.del(customerRef));
      } catch (err) {
        if (err instanceof PaymentsRefused && err.code === "resource_missing") return;
        throw err;
      }
    },

    async setupIntent({ customerRef, idempotencyKey }) {
      const si = await call(() =>
        stripe.setupIntents.create({ customer: customerRef, usage: "off_session", automatic_payment_methods: { enabled: true, allow_redirects: "never" } }, idempotencyKey ? { idempotencyKey } : {}),
      );
      return { clientSecret: si.client_secret ?? "" };
    },

    async createAccount({ userId, idempotencyKey }) {
      const a = await call(() =>
        stripe.accounts.create(
          {
            // The host gives Stripe their details during onboarding.
            type: "express",
            capabilities: { card_payments: { requested: true }, transfers: { requested: true } },
            metadata: { user_id: userId },
          },
          { idempotencyKey },
        ),
      );
      return accountStateOf(a);
    },

    account: async (accountRef) => accountStateOf(await call(() => stripe.accounts.retrieve(accountRef))),

    async onboardingLink(accountRef, { returnUrl, refreshUrl }) {
      const link = await call(() => stripe.accountLinks.create({ account: accountRef, return_url: returnUrl, refresh_url: refreshUrl, type: "account_onboarding" }));
      return link.url;
    },

    dashboardLink: async (accountRef) => (await call(() => stripe.accounts.createLoginLink(accountRef))).url,

    async balance(accountRef) {
      const b = await call(() => stripe.balance.retrieve({}, { stripeAccount: accountRef }));
      const rows = (list: { amount: number; currency: string }[]) => list.map((x) => ({ currency: x.currency, amountCents: x.amount }));
      return { available: rows(b.available), pending: rows(b.pending) };
    },

    verifyWebhook(raw, signature): WebhookEvent {
      const receivedAt = settings.now?.() ?? Date.now(); // ms (the SDK divides by 1000)
      const verify = (secret: string) => stripe.webhooks.constructEvent(raw, signature, secret, WEBHOOK_TOLERANCE_SECONDS, undefined, receivedAt);
      // Stripe signs each endpoint's deliveries with that endpoint's secret: any of ours will do.
      let event: Stripe.Event | undefined;
      let failure: unknown;
      for (const secret of settings.webhookSecrets) {
        try {
          event = verify(secret);
          break;
        } catch (err) {
          failure = err;
        }
      }
      if (!event) throw failure;
      return {
        id: event.id,
        type: event.type,
        created: new Date(event.created * 1000),
        account: event.account ?? null,
        object: event.data.object as unknown as WebhookEvent["object"],
        ...(event.type === "account.updated" ? { accountState: accountStateOf(event.data.object as Stripe.Account) } : {}),
      };
    },
  };
}
