// The local Stripe (test/helpers/stripe-server.ts) proved against the official `stripe` SDK: every
// behaviour is reached through `stripe.*` calls, errors are the SDK's own classes, and webhooks
// are verified by `stripe.webhooks.constructEvent` in a small receiver. Only the malformed-body
// case is sent by hand, because the SDK cannot produce one.
import http from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import t from "tap";
import { startStripeServer } from "./helpers/stripe-server.ts";

let clock = Date.now();
const server = await startStripeServer({ now: () => clock });
t.teardown(() => server.close());

/** An SDK client for the local server; no retries unless asked for. */
const sdk = (opts: { key?: string; retries?: number } = {}) =>
  new Stripe(opts.key ?? server.secretKey, { host: "127.0.0.1", port: server.port, protocol: "http", maxNetworkRetries: opts.retries ?? 0 });

const stripe = sdk();
const browser = sdk({ key: server.publishableKey }); // what Stripe.js does in the customer's browser

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to fail");
}

const eventsOfType = (type: string) => server.events.filter((e) => e.type === type);
/** `data.object` of the last event of a type. */
const lastObject = (type: string) => eventsOfType(type).at(-1)?.data.object as unknown as Record<string, unknown> | undefined;

/** Stripe.js sends the intent's client_secret with the publishable key; the server SDK's types omit it. */
const clientConfirm = (paymentMethod: string, clientSecret: string) => ({ payment_method: paymentMethod, client_secret: clientSecret }) as Stripe.SetupIntentConfirmParams;

/** A customer with a card saved through a SetupIntent confirmed client-side. */
async function savedCard(token = "pm_card_visa") {
  const customer = await stripe.customers.create({ email: "guest@example.test" });
  const intent = await stripe.setupIntents.create({ customer: customer.id, usage: "off_session", allowed_payment_method_types: ["card"] });
  const confirmed = await browser.setupIntents.confirm(intent.id, clientConfirm(token, intent.client_secret!));
  return { customer: customer.id, paymentMethod: confirmed.payment_method as string };
}

async function onboardedAccount() {
  const account = await stripe.accounts.create({ type: "express", capabilities: { card_payments: { requested: true }, transfers: { requested: true } } });
  server.completeOnboarding(account.id);
  return account.id;
}

/** An off-session manual-capture hold (a destination charge when `destination` is given). */
function hold(card: { customer: string; paymentMethod: string }, amount: number, extra: Partial<Stripe.PaymentIntentCreateParams> = {}, client = stripe, options?: Stripe.RequestOptions) {
  return client.paymentIntents.create(
    {
      amount,
      currency: "usd",
      customer: card.customer,
      payment_method: card.paymentMethod,
      allowed_payment_method_types: ["card"],
      capture_method: "manual",
      confirm: true,
      off_session: true,
      ...extra,
    },
    options,
  );
}

t.test("API keys: a wrong key and the publishable key on a secret endpoint are refused", async (t) => {
  const wrong = await rejection(sdk({ key: "sk_test_local_wrong0000" }).customers.create());
  t.ok(wrong instanceof Stripe.errors.StripeAuthenticationError);
  t.equal(wrong.statusCode, 401);
  t.match(wrong.message, /^Invalid API Key provided: sk_test_\*+0000$/);
  const publishable = await rejection(browser.customers.create());
  t.ok(publishable instanceof Stripe.errors.StripeAuthenticationError);
  t.match(publishable.message, /publishable API key/);
});

t.test("customer + SetupIntent confirmed with the publishable key → a saved card", async (t) => {
  clock += 60_000;
  const customer = await stripe.customers.create({ email: "g@example.test", metadata: { user_id: "u1" } });
  t.equal(customer.created, Math.floor(clock / 1000), "created follows the injected clock");
  t.same(customer.metadata, { user_id: "u1" });
  const intent = await stripe.setupIntents.create({ customer: customer.id, usage: "off_session", allowed_payment_method_types: ["card"], metadata: { purpose: "card" } });
  t.equal(intent.status, "requires_payment_method");
  t.match(intent.client_secret, new RegExp(`^${intent.id}_secret_`));

  const wrongSecret = await rejection(browser.setupIntents.confirm(intent.id, clientConfirm("pm_card_visa", `${intent.id}_secret_nope`)));
  t.ok(wrongSecret instanceof Stripe.errors.StripeInvalidRequestError);
  t.equal(wrongSecret.param, "client_secret");

  const confirmed = await browser.setupIntents.confirm(intent.id, clientConfirm("pm_card_visa", intent.client_secret!));
  t.equal(confirmed.status, "succeeded");
  t.match(confirmed.payment_method, /^pm_(?!card_)/, "a new PaymentMethod, not the token");
  const pm = await stripe.paymentMethods.retrieve(confirmed.payment_method as string);
  t.equal(pm.customer, customer.id);
  t.match(pm.card, { brand: "visa", last4: "4242" });
  t.equal(lastObject("setup_intent.succeeded")?.id, intent.id);

  const token = await stripe.paymentMethods.retrieve("pm_card_mastercard");
  t.match(token, { id: "pm_card_mastercard", customer: null, card: { brand: "mastercard", last4: "4444" } });

  const other = await stripe.customers.create();
  const foreign = await rejection(hold({ customer: other.id, paymentMethod: pm.id }, 1000));
  t.ok(foreign instanceof Stripe.errors.StripeInvalidRequestError, "a card saved for one customer cannot pay for another");
  const unknown = await rejection(stripe.paymentIntents.create({ amount: 1000, currency: "usd", payment_method: "pm_nope", allowed_payment_method_types: ["card"] }));
  t.match(unknown, { code: "resource_missing", param: "payment_method", statusCode: 400 });
});

t.test("manual-capture destination charge: partial capture with its own fee", async (t) => {
  const account = await onboardedAccount();
  const card = await savedCard();
  const intent = await hold(card, 5000, { application_fee_amount: 500, transfer_data: { destination: account }, metadata: { call_id: "call-1" } });
  t.match(intent, { status: "requires_capture", amount_capturable: 5000, application_fee_amount: 500, transfer_data: { destination: account } });
  t.match(server.state.charges.get(intent.latest_charge as string), { captured: false, amount: 5000, status: "succeeded" });
  t.equal(lastObject("payment_intent.amount_capturable_updated")?.id, intent.id);

  const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 2999, application_fee_amount: 333 });
  t.match(captured, { status: "succeeded", amount_received: 2999, amount_capturable: 0, application_fee_amount: 333 });
  const charge = server.state.charges.get(intent.latest_charge as string)!;
  t.match(charge, { captured: true, amount_captured: 2999, application_fee_amount: 333 });
  t.match(server.state.applicationFees.get(charge.application_fee as string), { amount: 333, account, charge: charge.id });
  t.match(server.state.transfers.get(charge.transfer as string), { amount: 2999 - 333, destination: account, source_transaction: charge.id });
  t.equal(lastObject("payment_intent.succeeded")?.id, intent.id);

  const balance = await stripe.balance.retrieve({}, { stripeAccount: account });
  t.same([balance.available[0]?.amount, balance.pending[0]?.amount], [0, 2666], "the transfer is pending on the connected account");

  const expanded = await stripe.paymentIntents.retrieve(intent.id, { expand: ["latest_charge"] });
  t.match(expanded.latest_charge, { object: "charge", id: charge.id, amount_captured: 2999 });
  const again = await rejection(stripe.paymentIntents.capture(intent.id));
  t.match(again, { code: "payment_intent_unexpected_state", statusCode: 400 });
});

t.test("creation is validated as Stripe does", async (t) => {
  const noAmount = await rejection(stripe.rawRequest("POST", "/v1/payment_intents", { currency: "usd" }));
  t.ok(noAmount instanceof Stripe.errors.StripeInvalidRequestError);
  t.match(noAmount, { code: "parameter_missing", param: "amount" });
  const noCurrency = await rejection(stripe.rawRequest("POST", "/v1/payment_intents", { amount: 1000 }));
  t.match(noCurrency, { code: "parameter_missing", param: "currency" });

  const card = await savedCard();
  const pending = await stripe.accounts.create({ type: "express" });
  const notOnboarded = await rejection(hold(card, 1000, { transfer_data: { destination: pending.id } }));
  t.match(notOnboarded, { type: "StripeInvalidRequestError", param: "transfer_data[destination]" });
  const feeTooHigh = await rejection(hold(card, 1000, { application_fee_amount: 1001, transfer_data: { destination: await onboardedAccount() } }));
  t.match(feeTooHigh, { type: "StripeInvalidRequestError", param: "application_fee_amount" });

  const withoutTypes = { amount: 1000, currency: "usd", customer: card.customer, payment_method: card.paymentMethod, confirm: true, off_session: true, capture_method: "manual" as const };
  const redirects = await rejection(stripe.paymentIntents.create(withoutTypes));
  t.match(redirects.message, /A `return_url` must be specified/, "automatic payment methods (the default) allow redirects");
  const noRedirects = await stripe.paymentIntents.create({ ...withoutTypes, automatic_payment_methods: { enabled: true, allow_redirects: "never" } });
  t.equal(noRedirects.status, "requires_capture");
});

t.test("parameters Stripe does not know are refused, as Stripe does", async (t) => {
  const legacy = await rejection(stripe.rawRequest("POST", "/v1/payment_intents", { amount: 1000, currency: "usd", payment_method_types: ["card"] }));
  t.match(legacy, { type: "StripeInvalidRequestError", code: "parameter_unknown", param: "payment_method_types" }, "removed by 2026-09-30.endive; use allowed_payment_method_types");
  const older = sdk();
  const accepted = await older.rawRequest("POST", "/v1/payment_intents", { amount: 1000, currency: "usd", payment_method_types: ["card"] }, { apiVersion: "2026-08-26.dahlia" });
  t.same(accepted.payment_method_types, ["card"], "still accepted by older API versions");
  const account = await onboardedAccount();
  // SDK v23 takes request options only as the last argument; inside params they are sent as parameters.
  const misplaced = await rejection(stripe.balance.retrieve({ stripeAccount: account } as Stripe.BalanceRetrieveParams));
  t.match(misplaced, { code: "parameter_unknown", param: "stripeAccount" });
});

t.test("declines are StripeCardErrors carrying the PaymentIntent, which exists afterwards", async (t) => {
  const before = server.state.paymentIntents.size;
  const declined = await rejection(hold(await savedCard("pm_card_chargeDeclined"), 2000));
  t.ok(declined instanceof Stripe.errors.StripeCardError);
  t.match(declined, { statusCode: 402, code: "card_declined", decline_code: "generic_decline" });
  t.match(declined.payment_intent, { object: "payment_intent", status: "requires_payment_method", last_payment_error: { decline_code: "generic_decline" } });
  t.equal(server.state.paymentIntents.size, before + 1);
  t.match(server.state.charges.get(declined.charge), { status: "failed", failure_code: "card_declined" });
  t.equal(lastObject("payment_intent.payment_failed")?.id, declined.payment_intent.id);

  const poor = await rejection(hold(await savedCard("pm_card_insufficientFunds"), 2000));
  t.match(poor, { type: "StripeCardError", decline_code: "insufficient_funds" });

  const flaky = await savedCard("pm_card_declineAfterFirstHold");
  t.equal((await hold(flaky, 2000, { metadata: { call_id: "call-9" } })).status, "requires_capture", "the first hold of a call succeeds");
  const second = await rejection(hold(flaky, 2000, { metadata: { call_id: "call-9" } }));
  t.match(second, { type: "StripeCardError", decline_code: "insufficient_funds" }, "a later hold of the same call declines");
  t.equal((await hold(flaky, 2000, { metadata: { call_id: "call-10" } })).status, "requires_capture", "another call's first hold succeeds");
});

t.test("3-D Secure: off-session fails with authentication_required; on-session waits for the customer", async (t) => {
  const card = await savedCard("pm_card_authenticationRequired");
  const offSession = await rejection(hold(card, 1500));
  t.ok(offSession instanceof Stripe.errors.StripeCardError);
  t.match(offSession, { code: "authentication_required", decline_code: "authentication_required", payment_intent: { status: "requires_payment_method" } });

  const onSession = await hold(card, 1500, { off_session: false });
  t.match(onSession, { status: "requires_action", next_action: { type: "use_stripe_sdk" } });
  server.authenticate(onSession.id);
  t.match(await stripe.paymentIntents.retrieve(onSession.id), { status: "requires_capture", amount_capturable: 1500 });
});

t.test("cancel, expiry and capture limits", async (t) => {
  const card = await savedCard();
  const intent = await hold(card, 3000);
  const tooMuch = await rejection(stripe.paymentIntents.capture(intent.id, { amount_to_capture: 3001 }));
  t.match(tooMuch, { type: "StripeInvalidRequestError", code: "amount_too_large" });
  const canceled = await stripe.paymentIntents.cancel(intent.id, { cancellation_reason: "requested_by_customer" });
  t.match(canceled, { status: "canceled", cancellation_reason: "requested_by_customer" });
  t.equal(lastObject("payment_intent.canceled")?.id, intent.id);
  t.match(await rejection(stripe.paymentIntents.cancel(intent.id)), { code: "payment_intent_unexpected_state" });
  t.match(await rejection(stripe.paymentIntents.capture(intent.id)), { code: "payment_intent_unexpected_state" });

  const expiring = await hold(card, 3000);
  server.expireAuthorization(expiring.id);
  t.match(await stripe.paymentIntents.retrieve(expiring.id), { status: "canceled", cancellation_reason: "automatic" });
  t.equal(lastObject("payment_intent.canceled")?.cancellation_reason, "automatic");
});

t.test("idempotency: replay, mismatch, replayed declines, key in use", async (t) => {
  const first = await stripe.customers.create({ email: "same@example.test" }, { idempotencyKey: "idem-1" });
  const replay = await stripe.customers.create({ email: "same@example.test" }, { idempotencyKey: "idem-1" });
  t.equal(replay.id, first.id);
  t.equal(replay.lastResponse.headers["idempotent-replayed"], "true");
  t.match(server.requests.at(-1), { path: "/v1/customers", idempotencyKey: "idem-1", replayed: true, status: 200 });

  const mismatch = await rejection(stripe.customers.create({ email: "other@example.test" }, { idempotencyKey: "idem-1" }));
  t.ok(mismatch instanceof Stripe.errors.StripeIdempotencyError);
  t.match(mismatch.message, /same parameters they were first used with/);

  const card = await savedCard("pm_card_chargeDeclined");
  const before = server.state.paymentIntents.size;
  const declined = await rejection(hold(card, 2000, {}, stripe, { idempotencyKey: "idem-2" }));
  const replayedDecline = await rejection(hold(card, 2000, {}, stripe, { idempotencyKey: "idem-2" }));
  t.ok(replayedDecline instanceof Stripe.errors.StripeCardError, "a decline is stored and replayed");
  t.equal(replayedDecline.payment_intent.id, declined.payment_intent.id);
  t.equal(replayedDecline.headers["idempotent-replayed"], "true");
  t.equal(server.state.paymentIntents.size, before + 1);

  const stall = server.stall({ path: "/v1/customers" });
  const slow = stripe.customers.create({}, { idempotencyKey: "idem-3" });
  await stall.reached;
  const inUse = await rejection(stripe.customers.create({}, { idempotencyKey: "idem-3" }));
  t.ok(inUse instanceof Stripe.errors.StripeAPIError, "v1 maps 409 to StripeAPIError, not StripeIdempotencyError");
  t.match(inUse, { statusCode: 409, code: "idempotency_key_in_use" });
  stall.release();
  t.match(await slow, { object: "customer" });
});

t.test("faults: rate limit, API error, unreachable", async (t) => {
  server.fail(1, "rate_limited", { path: "/v1/customers" });
  const limited = await rejection(stripe.customers.create({}, { idempotencyKey: "fault-1" }));
  t.ok(limited instanceof Stripe.errors.StripeRateLimitError);
  t.equal(limited.statusCode, 429);
  t.match(await stripe.customers.create({}, { idempotencyKey: "fault-1" }), { object: "customer" }, "the fault was not stored under the key");

  server.fail(1, "api_error");
  const apiError = await rejection(stripe.customers.create());
  t.ok(apiError instanceof Stripe.errors.StripeAPIError);
  t.match(apiError, { statusCode: 500, headers: { "stripe-should-retry": "true" } });

  const customers = server.state.customers.size;
  server.fail(2, "unreachable", { method: "POST", path: "/v1/customers" });
  const unreachable = await rejection(stripe.customers.create());
  t.ok(unreachable instanceof Stripe.errors.StripeConnectionError);
  t.equal(server.state.customers.size, customers);
  const attempts = server.requests.slice(-2);
  t.same(attempts.map((r) => r.fault), ["unreachable", "unreachable"], "even with maxNetworkRetries 0 the SDK retries a closed connection once");
  t.equal(attempts[0]?.idempotencyKey, attempts[1]?.idempotencyKey);
  t.match(attempts[0]?.idempotencyKey, /^stripe-node-retry-/, "the SDK keys every POST itself");

  server.fail(1, "unreachable", { method: "POST", path: "/v1/customers" });
  t.match(await stripe.customers.create(), { object: "customer" }, "so one dropped connection is invisible to the caller");
});

t.test("the SDK's own retries recover from a lost response and a 500 without a second PaymentIntent", async (t) => {
  const card = await savedCard();
  const before = server.state.paymentIntents.size;
  server.fail(1, "lost_response", { path: "/v1/payment_intents" });
  server.fail(1, "api_error", { path: "/v1/payment_intents" });
  const intent = await hold(card, 2500, {}, sdk({ retries: 2 }));
  t.equal(intent.status, "requires_capture");
  t.equal(server.state.paymentIntents.size, before + 1);
  const attempts = server.requests.slice(-3);
  t.same(attempts.map((r) => [r.fault, r.status, r.replayed]), [["lost_response", 200, false], ["api_error", 500, false], [null, 200, true]]);
  t.equal(new Set(attempts.map((r) => r.idempotencyKey)).size, 1, "one SDK-generated key for all attempts");
});

t.test("refund with refund_application_fee and reverse_transfer: proportional amounts", async (t) => {
  const account = await onboardedAccount();
  const intent = await hold(await savedCard(), 5000, { application_fee_amount: 500, transfer_data: { destination: account } });
  await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 2999, application_fee_amount: 333 });

  const refund = await stripe.refunds.create({ payment_intent: intent.id, amount: 1000, refund_application_fee: true, reverse_transfer: true, reason: "requested_by_customer" });
  t.match(refund, { object: "refund", amount: 1000, status: "succeeded", payment_intent: intent.id });
  const feeRefunds = [...server.state.feeRefunds.values()].filter((r) => r.fee === server.state.charges.get(refund.charge as string)!.application_fee);
  t.same(feeRefunds.map((r) => r.amount), [111], "round(333 × 1000 / 2999)");
  t.match(server.state.transferReversals.get(refund.transfer_reversal as string), { amount: 889 }, "round(2666 × 1000 / 2999)");
  t.match(server.state.charges.get(refund.charge as string), { amount_refunded: 1000, refunded: false });
  t.equal((await stripe.balance.retrieve({}, { stripeAccount: account })).pending[0]?.amount, 2666 - 889);
  const refundedEvent = eventsOfType("charge.refunded").at(-1)!;
  t.match(refundedEvent.data, { object: { id: refund.charge, amount_refunded: 1000 }, previous_attributes: { amount_refunded: 0 } });

  const tooLarge = await rejection(stripe.refunds.create({ payment_intent: intent.id, amount: 2000 }));
  t.match(tooLarge, { type: "StripeInvalidRequestError", code: "amount_too_large", message: "Refund amount ($20.00) is greater than unrefunded amount on charge ($19.99)" });

  const rest = await stripe.refunds.create({ payment_intent: intent.id, refund_application_fee: true, reverse_transfer: true });
  t.equal(rest.amount, 1999);
  const charge = server.state.charges.get(rest.charge as string)!;
  t.match(charge, { refunded: true, amount_refunded: 2999 });
  t.match(server.state.applicationFees.get(charge.application_fee as string), { amount_refunded: 333, refunded: true });
  t.match(server.state.transfers.get(charge.transfer as string), { amount_reversed: 2666, reversed: true });
  t.equal((await stripe.balance.retrieve({}, { stripeAccount: account })).pending[0]?.amount, 0);
  const listed = await stripe.refunds.list({ payment_intent: intent.id });
  t.same(listed.data.map((r) => r.id), [rest.id, refund.id], "newest first");
  t.match(await stripe.refunds.retrieve(refund.id), { id: refund.id, amount: 1000 });
});

t.test("Connect Express: onboarding link, onboarding, login link, restriction", async (t) => {
  const account = await stripe.accounts.create({ type: "express", country: "US", email: "host@example.test", capabilities: { transfers: { requested: true } }, metadata: { host_id: "h1" } });
  t.match(account, { object: "account", type: "express", charges_enabled: false, payouts_enabled: false, details_submitted: false, metadata: { host_id: "h1" } });
  t.ok(account.requirements?.currently_due?.length);
  const link = await stripe.accountLinks.create({ account: account.id, refresh_url: "https://app.test/refresh", return_url: "https://app.test/return", type: "account_onboarding" });
  t.equal(link.url, `${server.url}/connect/onboarding/${account.id}`);
  t.ok(link.expires_at > link.created);
  t.ok((await rejection(stripe.accounts.createLoginLink(account.id))) instanceof Stripe.errors.StripeInvalidRequestError, "no login link before onboarding");

  server.completeOnboarding(account.id);
  t.match(await stripe.accounts.retrieve(account.id), { charges_enabled: true, payouts_enabled: true, details_submitted: true, requirements: { currently_due: [], disabled_reason: null } });
  const updated = eventsOfType("account.updated").at(-1)!;
  t.match(updated, { account: account.id, data: { object: { charges_enabled: true }, previous_attributes: { charges_enabled: false } } });
  t.match(await stripe.accounts.createLoginLink(account.id), { object: "login_link", url: new RegExp(`^${server.url}/`) });

  server.restrictAccount(account.id);
  t.match(await stripe.accounts.retrieve(account.id), { charges_enabled: false, requirements: { past_due: ["individual.verification.document"], disabled_reason: "requirements.past_due" } });
  const refused = await rejection(hold(await savedCard(), 1000, { transfer_data: { destination: account.id } }));
  t.match(refused, { type: "StripeInvalidRequestError", param: "transfer_data[destination]" });
  const unknown = await rejection(stripe.balance.retrieve({}, { stripeAccount: "acct_missing" }));
  t.ok(unknown instanceof Stripe.errors.StripePermissionError);
});

t.test("balances per connected account; payouts by the test helper", async (t) => {
  const [a, b] = [await onboardedAccount(), await onboardedAccount()];
  const card = await savedCard();
  for (const [account, amount] of [[a, 1000], [b, 3000]] as const) {
    const intent = await hold(card, amount, { application_fee_amount: 100, transfer_data: { destination: account } });
    await stripe.paymentIntents.capture(intent.id);
  }
  const balanceOf = async (account: string) => {
    const balance = await stripe.balance.retrieve({}, { stripeAccount: account });
    return { available: balance.available[0]?.amount, pending: balance.pending[0]?.amount };
  };
  t.same(await balanceOf(a), { available: 0, pending: 900 });
  t.same(await balanceOf(b), { available: 0, pending: 2900 });

  server.releaseFunds(a);
  t.same(await balanceOf(a), { available: 900, pending: 0 });
  const paid = server.payout(a, { status: "paid" });
  t.match(paid, { object: "payout", amount: 900, status: "paid" });
  t.same(await balanceOf(a), { available: 0, pending: 0 });
  t.match(eventsOfType("payout.paid").at(-1), { account: a, data: { object: { id: paid.id } } });
  t.same((await stripe.payouts.list({}, { stripeAccount: a })).data.map((p) => p.id), [paid.id]);
  t.same((await stripe.payouts.list({}, { stripeAccount: b })).data, []);

  server.releaseFunds(b);
  const failed = server.payout(b, { amount: 500, status: "failed" });
  t.match(eventsOfType("payout.failed").at(-1), { account: b, data: { object: { id: failed.id, failure_code: "account_closed" } } });
  t.same(await balanceOf(b), { available: 2900, pending: 0 }, "a failed payout returns its funds");
});

t.test("webhooks: signed deliveries verified by the SDK; snapshots; forgeries refused", async (t) => {
  const received: Stripe.Event[] = [];
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const event = stripe.webhooks.constructEvent(Buffer.concat(chunks), req.headers["stripe-signature"] as string, server.webhookSecret, 300);
        received.push(event);
        res.writeHead(200).end("ok");
      } catch (e) {
        res.writeHead(400).end((e as Error).message);
      }
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  t.teardown(() => new Promise<void>((r) => receiver.close(() => r())));
  const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe`;

  const intent = await hold(await savedCard(), 4000);
  const held = eventsOfType("payment_intent.amount_capturable_updated").at(-1)!;
  await stripe.paymentIntents.capture(intent.id);
  const succeeded = eventsOfType("payment_intent.succeeded").at(-1)!;
  t.match(held, { object: "event", livemode: false, pending_webhooks: 1, request: { id: /^req_/, idempotency_key: /^stripe-node-retry-/ } });

  t.match(await server.deliver(target, succeeded), { status: 200 });
  t.match(await server.deliver(target, held), { status: 200 }, "out of order");
  t.match(await server.deliver(target, held), { status: 200 }, "twice");
  t.same(received.map((e) => e.id), [succeeded.id, held.id, held.id]);
  t.match(received[1]?.data.object, { id: intent.id, status: "requires_capture" }, "a late event shows the state when it was emitted");
  t.match(await stripe.events.retrieve(held.id), { id: held.id, type: "payment_intent.amount_capturable_updated" });

  const forged = await server.deliver(target, held, { secret: "whsec_forged" });
  t.equal(forged.status, 400);
  t.match(forged.body, /No signatures found matching the expected signature/);
  const stale = await server.deliver(target, held, { timestamp: Math.floor(Date.now() / 1000) - 301 });
  t.match(stale, { status: 400, body: /Timestamp outside the tolerance zone/ });
  const rotating = await server.deliver(target, held, { secret: "whsec_previous", extraSignatures: [server.webhookSecret] });
  t.equal(rotating.status, 200, "any v1 entry signed with the current secret verifies");
});

t.test("disputes", async (t) => {
  const intent = await hold(await savedCard(), 2000, { capture_method: "automatic" });
  t.equal(intent.status, "succeeded", "automatic capture");
  const dispute = server.dispute(intent.id);
  t.match(dispute, { object: "dispute", amount: 2000, status: "needs_response", payment_intent: intent.id });
  t.equal(lastObject("charge.dispute.created")?.id, dispute.id);
  server.closeDispute(dispute.id, "lost");
  t.match(eventsOfType("charge.dispute.closed").at(-1)?.data, { object: { id: dispute.id, status: "lost" }, previous_attributes: { status: "needs_response" } });
  t.equal(server.state.disputes.get(dispute.id)?.status, "lost");
});

t.test("unknown routes are 404; malformed bodies are 400", async (t) => {
  const unknown = await rejection(stripe.rawRequest("GET", "/v1/nothing_here"));
  t.ok(unknown instanceof Stripe.errors.StripeInvalidRequestError);
  t.match(unknown, { statusCode: 404, message: /^Unrecognized request URL \(GET: \/v1\/nothing_here\)/ });
  const missing = await rejection(stripe.paymentIntents.retrieve("pi_missing"));
  t.match(missing, { statusCode: 404, code: "resource_missing", message: "No such payment_intent: 'pi_missing'" });

  // The SDK cannot send a malformed body, so this one is written by hand.
  const raw = (body: string, contentType: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${server.url}/v1/customers`, { method: "POST", agent: false, headers: { authorization: `Bearer ${server.secretKey}`, "content-type": contentType } }, (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on("error", reject);
      req.end(body);
    });
  const badEncoding = await raw("email=%E0%A4%A", "application/x-www-form-urlencoded");
  t.equal(badEncoding.status, 400);
  t.match(JSON.parse(badEncoding.body), { error: { type: "invalid_request_error" } });
  t.equal((await raw('{"email":"x"}', "application/json")).status, 400);
});
