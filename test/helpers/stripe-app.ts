// The app on the Stripe provider, pointed at the local Stripe-compatible server (the only test
// double at the payment edge), listening on a port so the server's webhook deliveries are real
// HTTP; plus the steps every Stripe suite needs: an onboarded host, a saved card, deliveries.
import Stripe from "stripe";
import type { FastifyInstance } from "fastify";
import { testApp } from "./app.ts";
import { bearer, makeUser, type Party } from "./calls.ts";
import { startStripeServer, type DeliverOptions } from "./stripe-server.ts";
import type { ManualClock } from "../../src/domain/ports/clock.ts";
import { fromUlid } from "../../src/domain/ids.ts";

type Tap = Parameters<typeof testApp>[0];
export type Host = Party & { account: string };

export type ProviderName = "simulated" | "stripe";
/** The providers a paid-call suite runs against. */
export const PROVIDERS: ProviderName[] = ["simulated", "stripe"];

/** What a test sees of a provider's holds: one entry per hold, oldest first. */
export interface Intent {
  /** The call it is for. */
  reference: string;
  status: string;
  amount: number;
  captured: number;
}

/**
 * The app on the named payment provider (Stripe: pointed at a fresh local server), with the two
 * things a provider-neutral test needs: onboarding a host, and the provider's view of the holds.
 */
export async function appOn(t: Tap, provider: ProviderName, opts: Parameters<typeof testApp>[1] = {}) {
  if (provider === "simulated") {
    const made = await testApp(t, opts);
    const intents = async (): Promise<Intent[]> =>
      (await made.app.db.simPaymentIntent.findMany({ orderBy: { createdAt: "asc" } })).map((i) => ({
        reference: i.reference,
        status: i.status,
        amount: i.amountCents,
        captured: i.capturedCents,
      }));
    return { ...made, server: undefined, onboard: async (_host: { id: string; token: string }): Promise<string | null> => null, intents };
  }
  let clock: ManualClock | undefined;
  const server = await startStripeServer({ now: () => clock!.now() });
  t.teardown(() => server.close());
  const made = await testApp(t, {
    ...opts,
    env: {
      PAYMENTS_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: server.secretKey,
      STRIPE_PUBLISHABLE_KEY: server.publishableKey,
      STRIPE_WEBHOOK_SECRET: server.webhookSecret,
      STRIPE_API_BASE: server.url,
      ...opts.env,
    },
  });
  clock = made.clock;
  const { app } = made;
  /** The host goes through Connect onboarding (an Account Link, completed at Stripe). */
  async function onboard(host: { id: string; token: string }): Promise<string | null> {
    const started = await app.inject({ method: "POST", url: "/v1/payments/connect/onboarding", headers: bearer(host.token) });
    if (started.statusCode !== 200) throw new Error(`onboarding: ${started.statusCode} ${started.body}`);
    const { accountRef } = await app.db.connectAccount.findUniqueOrThrow({ where: { userId: host.id } });
    server.completeOnboarding(accountRef);
    const status = await connectStatus(app, host);
    if (status !== "enabled") throw new Error(`connect status: ${status}`);
    return accountRef;
  }
  const intents = async (): Promise<Intent[]> =>
    [...server.state.paymentIntents.values()].map((p) => ({
      reference: String(p.metadata?.call_id ?? ""),
      status: p.status,
      amount: p.amount,
      captured: p.amount_received ?? 0,
    }));
  return { ...made, server, onboard, intents };
}

export async function stripeApp(t: Tap, opts: { env?: Record<string, string> } = {}) {
  const made = await appOn(t, "stripe", { ...opts, overrides: { tickIntervalMs: 0 } });
  const { app, clock, onboard } = made;
  const server = made.server!;
  await app.listen({ port: 0, host: "127.0.0.1" });
  const hookUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/webhooks/stripe`;

  /** Stripe delivers `event` (signed now unless told otherwise); the answer as Stripe sees it. */
  async function deliver(event: Stripe.Event, opts?: DeliverOptions) {
    const res = await server.deliver(hookUrl, event, opts);
    return { status: res.status, json: JSON.parse(res.body) };
  }

  /** The latest event of `type` about the object `id`. */
  function eventOf(type: string, id: string): Stripe.Event {
    const found = server.events.filter((e) => e.type === type && (e.data.object as { id?: string }).id === id).at(-1);
    if (!found) throw new Error(`no ${type} event for ${id}; events: ${server.events.map((e) => e.type).join(", ")}`);
    return found;
  }

  /** A host whose connected account has completed onboarding (charges enabled). */
  async function onboardedHost(displayName?: string): Promise<Host> {
    const host = await makeUser(app, "host", displayName);
    return Object.assign(host, { account: (await onboard(host))! });
  }

  /** The Stripe dashboard (or any other client of the account), through the official SDK. */
  const dashboard = new Stripe(server.secretKey, { host: "127.0.0.1", port: server.port, protocol: "http", maxNetworkRetries: 0 });
  /** What Stripe.js does in the payer's browser, with the publishable key. */
  const browser = new Stripe(server.publishableKey, { host: "127.0.0.1", port: server.port, protocol: "http", maxNetworkRetries: 0 });

  /** The payer saves a card: a SetupIntent from the API, confirmed as Stripe.js would; the saved card's id. */
  async function saveCard(payer: Party, testCard = "pm_card_visa", path = "/v1/payments/guest/setup-intent"): Promise<string> {
    const res = await app.inject({ method: "POST", url: path, headers: bearer(payer.token) });
    if (res.statusCode !== 201) throw new Error(`setup intent: ${res.statusCode} ${res.body}`);
    const { client_secret } = res.json() as { client_secret: string };
    const id = client_secret.split("_secret_")[0]!;
    const si = await browser.setupIntents.confirm(id, { payment_method: testCard, client_secret } as Stripe.SetupIntentConfirmParams);
    return si.payment_method as string;
  }

  return { ...made, clock, server, hookUrl, deliver, eventOf, onboardedHost, dashboard, saveCard };
}

export async function connectStatus(app: FastifyInstance, host: { token: string }): Promise<string> {
  const res = await app.inject({ method: "GET", url: "/v1/payments/connect", headers: bearer(host.token) });
  if (res.statusCode !== 200) throw new Error(`connect status: ${res.statusCode} ${res.body}`);
  return res.json().status;
}

/** The hold (PaymentIntent) of a call's window. */
export async function holdOf(app: FastifyInstance, callId: string, index = 1): Promise<string> {
  const win = await app.db.billingWindow.findFirstOrThrow({ where: { callId: fromUlid(callId)!, index } });
  return win.holdRef!;
}
