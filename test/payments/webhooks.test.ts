// Stripe's webhooks over real HTTP. The local Stripe server records the events its objects go
// through and signs each delivery the way Stripe does; the app runs on the Stripe provider and
// listens on a port. Every event is applied once whatever the repetition, lateness or order of its
// deliveries; forged, unsigned and stale deliveries are refused and store nothing.
import t from "tap";
import type Stripe from "stripe";
import type { FastifyInstance } from "fastify";
import { testApp } from "../helpers/app.ts";
import { activeCall, advance, bearer, createLink, getCall, type Party } from "../helpers/calls.ts";
import { signWebhookPayload } from "../helpers/stripe-server.ts";
import { connectStatus, holdOf, stripeApp } from "../helpers/stripe-app.ts";
import { fromUlid, toUlid } from "../../src/domain/ids.ts";

const MIN = 60_000;

async function endCall(app: FastifyInstance, guest: Party, callId: string) {
  const res = await app.inject({ method: "POST", url: `/v1/calls/${callId}/end`, headers: bearer(guest.token) });
  if (res.statusCode !== 200 && res.statusCode !== 202) throw new Error(`end: ${res.statusCode} ${res.body}`);
}

const signatureError = (res: { status: number; json: any }) => [res.status, res.json.error?.code, res.json.error?.details];

t.test("Stripe webhooks", async (t) => {
  const { app, clock, server, hookUrl, deliver, eventOf, onboardedHost, dashboard } = await stripeApp(t);

  await t.test("forged, unsigned and stale deliveries are refused and store nothing", async (t) => {
    const host = await onboardedHost();
    const before = await app.db.connectAccount.findUniqueOrThrow({ where: { userId: host.id } });
    server.restrictAccount(host.account);
    const restricted = eventOf("account.updated", host.account);

    t.same(signatureError(await deliver(restricted, { secret: "whsec_forged0000000000000000000000" })), [400, "validation_error", { "stripe-signature": "is not valid" }], "signed with another secret");
    const stale = Math.floor(clock.now() / 1000) - 301 - 60;
    t.same(signatureError(await deliver(restricted, { timestamp: stale })), [400, "validation_error", { "stripe-signature": "is not valid" }], "older than 300 s");
    const unsigned = await fetch(hookUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(restricted) });
    t.same(signatureError({ status: unsigned.status, json: await unsigned.json() }), [400, "validation_error", { "stripe-signature": "is required" }], "no signature");

    // Correctly signed, but not JSON, or JSON that is not an event.
    const signed = async (payload: string) => {
      const ts = Math.floor(clock.now() / 1000);
      const res = await fetch(hookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": `t=${ts},v1=${signWebhookPayload(payload, ts, server.webhookSecret)}` },
        body: payload,
      });
      return { status: res.status, json: await res.json() };
    };
    t.same(signatureError(await signed("{not json")), [400, "validation_error", { body: "must be valid JSON" }]);
    t.same(signatureError(await signed(JSON.stringify({ hello: "world" }))), [400, "validation_error", { "stripe-signature": "is not valid" }]);

    t.equal(await app.db.webhookEvent.count(), 0, "no event stored");
    t.same(await app.db.connectAccount.findUniqueOrThrow({ where: { userId: host.id } }), before, "the account is unchanged");
    t.equal(await connectStatus(app, host), "enabled");

    // Key rotation: the first v1 signature is made with an old secret, the second with the current one.
    const rotated = await deliver(restricted, { secret: "whsec_old000000000000000000000000", extraSignatures: [server.webhookSecret] });
    t.same([rotated.status, rotated.json], [200, { received: true, duplicate: false }], "any valid v1 signature is enough");
    const after = await app.db.connectAccount.findUniqueOrThrow({ where: { userId: host.id } });
    t.same([after.chargesEnabled, after.requirementsDue, after.disabledReason], [false, ["individual.verification.document"], "requirements.past_due"]);
    t.equal(await connectStatus(app, host), "restricted");
  });

  await t.test("an event is applied once: the same delivery twice, and a delivery whose claim lapsed", async (t) => {
    const host = await onboardedHost();
    clock.advance(MIN);
    server.restrictAccount(host.account);
    const event = eventOf("account.updated", host.account);
    t.same((await deliver(event)).json, { received: true, duplicate: false });
    t.same((await deliver(event)).json, { received: true, duplicate: true }, "the second delivery changes nothing");
    const row = await app.db.webhookEvent.findUniqueOrThrow({ where: { id: event.id } });
    t.match(row, { type: "account.updated", claimedUntil: null, processedAt: Date });

    // A delivery that is still being processed elsewhere (its claim is held): 409, Stripe retries.
    clock.advance(MIN);
    server.completeOnboarding(host.account);
    const next = eventOf("account.updated", host.account);
    await app.db.webhookEvent.create({ data: { id: next.id, type: next.type, receivedAt: new Date(clock.now()), claimedUntil: new Date(clock.now() + 30_000) } });
    const busy = await deliver(next);
    t.same(signatureError(busy), [409, "conflict", { event: "is being processed" }]);
    t.equal((await app.db.connectAccount.findUniqueOrThrow({ where: { userId: host.id } })).chargesEnabled, false, "not applied meanwhile");
    // That attempt died: once its claim lapses, the next delivery takes it over.
    clock.advance(31_000);
    t.same((await deliver(next)).json, { received: true, duplicate: false });
    t.equal((await app.db.connectAccount.findUniqueOrThrow({ where: { userId: host.id } })).chargesEnabled, true);
    t.same((await deliver(next)).json, { received: true, duplicate: true });
  });

  await t.test("a late account.updated never overwrites a newer state", async (t) => {
    const host = await onboardedHost();
    clock.advance(MIN);
    server.restrictAccount(host.account);
    const older = eventOf("account.updated", host.account);
    clock.advance(MIN);
    server.completeOnboarding(host.account);
    const newer = eventOf("account.updated", host.account);

    t.same((await deliver(newer)).json, { received: true, duplicate: false });
    t.same((await deliver(older)).json, { received: true, duplicate: false }, "acknowledged");
    const stored = await app.db.connectAccount.findUniqueOrThrow({ where: { userId: host.id } });
    t.same([stored.chargesEnabled, stored.requirementsDue, stored.statusAt.getTime()], [true, [], newer.created * 1000 + 999], "the newer state stays (as of the end of its second)");
    t.equal(await connectStatus(app, host), "enabled");
  });

  await t.test("payouts are stored for the right host; a final status stays", async (t) => {
    const paidHost = await onboardedHost();
    const failedHost = await onboardedHost();
    clock.advance(MIN);
    const paid = server.payout(paidHost.account, { amount: 2976, status: "paid" });
    const failed = server.payout(failedHost.account, { amount: 1500, status: "failed" });
    t.same((await deliver(eventOf("payout.paid", paid.id))).json, { received: true, duplicate: false });
    t.same((await deliver(eventOf("payout.failed", failed.id))).json, { received: true, duplicate: false });

    const payouts = async (host: Party) => {
      const res = await app.inject({ method: "GET", url: "/v1/payments/payouts", headers: bearer(host.token) });
      t.equal(res.statusCode, 200, "payouts listed");
      return res.json().data.map((p: any) => [p.amount, p.currency, p.status, p.failure_code, p.arrival_at]);
    };
    const arrival = (p: Stripe.Payout) => new Date(p.arrival_date * 1000).toISOString();
    t.same(await payouts(paidHost), [["29.76", "usd", "paid", null, arrival(paid)]]);
    t.same(await payouts(failedHost), [["15.00", "usd", "failed", "account_closed", arrival(failed)]]);
    t.same((await app.db.payout.findMany({ orderBy: { amountCents: "asc" } })).map((p) => [p.userId, p.providerRef]), [
      [failedHost.id, failed.id],
      [paidHost.id, paid.id],
    ]);

    // An older in_transit update delivered late, and a later non-final one: the payout stays paid.
    const paidEvent = eventOf("payout.paid", paid.id);
    const update = (suffix: string, created: number): Stripe.Event =>
      ({ ...paidEvent, id: `${paidEvent.id}_${suffix}`, type: "payout.updated", created, data: { object: { ...paidEvent.data.object, status: "in_transit" } } }) as Stripe.Event;
    t.same((await deliver(update("late", paidEvent.created - 60))).json, { received: true, duplicate: false });
    t.same((await deliver(update("after", paidEvent.created + 60))).json, { received: true, duplicate: false });
    t.same(await payouts(paidHost), [["29.76", "usd", "paid", null, arrival(paid)]], "still paid");

    // Each host is told once of the outcome, however often and in whatever order it is delivered.
    t.same((await deliver({ ...paidEvent, id: `${paidEvent.id}_again` } as Stripe.Event)).json, { received: true, duplicate: false });
    const told = async (host: Party) => {
      const res = await app.inject({ method: "GET", url: "/v1/notifications", headers: bearer(host.token) });
      return res.json().data.map((n: any) => [n.type, n.data]);
    };
    const [paidRow, failedRow] = await Promise.all([paid, failed].map((p) => app.db.payout.findUniqueOrThrow({ where: { providerRef: p.id } })));
    t.same(await told(paidHost), [["payout_paid", { payout_id: toUlid(paidRow!.id), amount: "29.76", currency: "usd", arrival_at: arrival(paid), failure_code: null }]]);
    t.same(await told(failedHost), [["payout_failed", { payout_id: toUlid(failedRow!.id), amount: "15.00", currency: "usd", arrival_at: arrival(failed), failure_code: "account_closed" }]]);

    // A payout of an account that is not a host's: acknowledged, nothing stored.
    const stranger = { ...paidEvent, id: `${paidEvent.id}_stranger`, account: "acct_stranger", data: { object: { ...paidEvent.data.object, id: "po_stranger" } } } as Stripe.Event;
    t.same((await deliver(stranger)).json, { received: true, duplicate: false });
    t.equal(await app.db.payout.count({ where: { providerRef: "po_stranger" } }), 0);
  });

  await t.test("captures, refunds and disputes of a paid call", async (t) => {
    const host = await onboardedHost();
    const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
    const { guest, id: callId } = await activeCall(app, host, link.short_code);
    const callUuid = fromUlid(callId)!;
    const pi = await holdOf(app, callId);

    await t.test("a capture whose answer was lost is recorded from payment_intent.succeeded, once, under five concurrent copies", async (t) => {
      await advance(app, clock, 3.5 * MIN);
      // The capture executes at Stripe, but no answer reaches the service (nor its SDK's retries).
      server.fail(3, "lost_response", { path: `/v1/payment_intents/${pi}/capture` });
      await endCall(app, guest, callId);
      t.equal(await app.db.capture.count({ where: { callId: callUuid } }), 0, "the service does not know of the capture");
      t.equal(server.state.paymentIntents.get(pi)!.status, "succeeded", "Stripe captured it");

      const succeeded = eventOf("payment_intent.succeeded", pi);
      const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(succeeded)));
      const processed = answers.filter((a) => a.status === 200 && a.json.duplicate === false);
      t.equal(processed.length, 1, "processed by one delivery");
      for (const a of answers) {
        if (a === processed[0]) continue;
        t.ok((a.status === 200 && a.json.duplicate === true) || (a.status === 409 && a.json.error.code === "conflict"), `a copy: ${a.status} ${JSON.stringify(a.json)}`);
      }
      t.same((await deliver(succeeded)).json, { received: true, duplicate: true });

      const captures = await app.db.capture.findMany({ where: { callId: callUuid } });
      t.same(captures.map((c) => [c.windowIndex, c.grossCents, c.feeCents, c.netCents, c.paymentRef]), [[1, 1200, 84, 1116, pi]], "4 minutes at 3.00, recorded once");
      t.equal((await app.db.billingWindow.findFirstOrThrow({ where: { holdRef: pi } })).holdStatus, "captured");

      // The engine's retry finds the window captured: nothing is charged twice.
      await advance(app, clock, 5_000);
      await advance(app, clock, 15_000);
      t.match(await getCall(app, guest, callId), { status: "completed", amount_charged: "12.00" });
      t.equal(server.state.paymentIntents.get(pi)!.amount_received, 1200, "captured once at Stripe");
      t.same(server.requests.filter((r) => r.path === `/v1/payment_intents/${pi}/capture`).map((r) => r.fault), ["lost_response", "lost_response", "lost_response"], "the lost attempts only: no capture asked after the webhook");
    });

    await t.test("charge.refunded: a failure while applying answers 500 and stores nothing; the next delivery applies it", async (t) => {
      await dashboard.refunds.create({ payment_intent: pi, amount: 250, reason: "requested_by_customer" });
      const refunded = server.events.filter((e) => e.type === "charge.refunded").at(-1)!;
      // Listing the refunds fails (the SDK's retries included).
      server.fail(3, "unreachable", { path: "/v1/refunds" });
      const failed = await deliver(refunded);
      t.same([failed.status, failed.json.error.code], [500, "internal_error"]);
      t.equal(await app.db.refund.count(), 0, "nothing recorded");
      t.match(await app.db.webhookEvent.findUniqueOrThrow({ where: { id: refunded.id } }), { processedAt: null, claimedUntil: null }, "not processed, not claimed");

      t.same((await deliver(refunded)).json, { received: true, duplicate: false }, "Stripe's next delivery applies it");
      t.same((await deliver(refunded)).json, { received: true, duplicate: true });
      const capture = await app.db.capture.findFirstOrThrow({ where: { callId: callUuid } });
      const row = (r: { captureId: string; hostId: string; amountCents: number; feeCents: number; netCents: number; reason: string; status: string }) => [
        r.captureId === capture.id && r.hostId === host.id, r.amountCents, r.feeCents, r.netCents, r.reason, r.status,
      ];
      // The fee given back is the capture's fee in proportion: 84 × 250 / 1200 = 17.5 → 18.
      t.same((await app.db.refund.findMany()).map(row), [[true, 250, 18, 232, "requested_by_customer", "succeeded"]]);

      // A second refund at the dashboard: its event lists both refunds; the first is not recorded twice.
      clock.advance(MIN);
      await dashboard.refunds.create({ payment_intent: pi, amount: 100 });
      t.same((await deliver(server.events.filter((e) => e.type === "charge.refunded").at(-1)!)).json, { received: true, duplicate: false });
      t.same((await app.db.refund.findMany({ orderBy: { amountCents: "desc" } })).map(row), [
        [true, 250, 18, 232, "requested_by_customer", "succeeded"],
        [true, 100, 7, 93, "requested_by_customer", "succeeded"],
      ]);
    });

    await t.test("charge.dispute.closed delivered before charge.dispute.created: the closed status stays", async (t) => {
      clock.advance(MIN);
      const dispute = server.dispute(pi);
      const created = eventOf("charge.dispute.created", dispute.id);
      clock.advance(MIN);
      server.closeDispute(dispute.id, "lost");
      const closed = eventOf("charge.dispute.closed", dispute.id);

      t.same((await deliver(closed)).json, { received: true, duplicate: false });
      t.same((await deliver(created)).json, { received: true, duplicate: false });
      const stored = await app.db.dispute.findMany();
      t.same(stored.map((d) => [d.providerRef, d.hostId, d.amountCents, d.status, d.reason, d.statusAt.getTime()]), [
        [dispute.id, host.id, 1200, "lost", "fraudulent", closed.created * 1000],
      ]);
    });
  });

  await t.test("payment_intent.canceled for an expired authorization: the window expires and its settlement captures nothing", async (t) => {
    const host = await onboardedHost();
    const link = await createLink(app, host, { rate_per_minute: "2.00", window_size_minutes: 10 });
    const { guest, id: callId } = await activeCall(app, host, link.short_code);
    const callUuid = fromUlid(callId)!;
    const pi = await holdOf(app, callId);
    await advance(app, clock, 2 * MIN);
    server.expireAuthorization(pi);
    const canceled = eventOf("payment_intent.canceled", pi);
    t.equal((canceled.data.object as Stripe.PaymentIntent).cancellation_reason, "automatic");
    t.same((await deliver(canceled)).json, { received: true, duplicate: false });
    t.equal((await app.db.billingWindow.findFirstOrThrow({ where: { holdRef: pi } })).holdStatus, "expired");

    await endCall(app, guest, callId);
    t.match(await getCall(app, guest, callId), { status: "completed", amount_charged: "0.00" });
    t.equal(await app.db.capture.count({ where: { callId: callUuid } }), 0, "nothing captured");
    t.equal(server.requests.filter((r) => r.path === `/v1/payment_intents/${pi}/capture`).length, 0, "no capture asked of Stripe");
  });
});

t.test("with the simulated provider every delivery is refused", async (t) => {
  const { app } = await testApp(t);
  const res = await app.inject({
    method: "POST",
    url: "/v1/webhooks/stripe",
    headers: { "content-type": "application/json", "stripe-signature": "t=1,v1=00" },
    payload: { id: "evt_1", object: "event", type: "account.updated", data: { object: { id: "acct_1" } } },
  });
  t.equal(res.statusCode, 400);
  t.same(res.json().error.details, { "stripe-signature": "webhooks are not accepted with this payment provider" });
  t.equal(await app.db.webhookEvent.count(), 0);
});

t.test("connected accounts' events come from a second endpoint, signed with its own secret", async (t) => {
  const connectSecret = "whsec_connect00000000000000000000000";
  const { app, server, deliver, eventOf, onboardedHost } = await stripeApp(t, { env: { STRIPE_CONNECT_WEBHOOK_SECRET: connectSecret } });
  const host = await onboardedHost();
  server.restrictAccount(host.account);
  const event = eventOf("account.updated", host.account);
  t.equal((await deliver(event, { secret: "whsec_neither000000000000000000000" })).status, 400, "a third secret is refused");
  t.same((await deliver(event, { secret: connectSecret })).json, { received: true, duplicate: false }, "the Connect endpoint's secret is accepted");
  t.equal(await connectStatus(app, host), "restricted");
  t.same((await deliver(event)).json, { received: true, duplicate: true }, "and the platform endpoint's still is");
});
