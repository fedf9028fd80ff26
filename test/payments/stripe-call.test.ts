// Real money through the official Stripe SDK, pointed at the local Stripe-compatible server. A
// guest saves a card through a SetupIntent, a host onboarded through Connect takes the call, and
// the provider holds, captures, takes the fee and transfers the exact amounts (docs/billing.md,
// "Fee split"); an admin's partial refund gives back the fee in proportion and reverses the
// transfer; outages answer 503 with Retry-After and heal by retry, never creating a second intent.
import t from "tap";
import { advance, bearer, connect, createLink, getCall, join, json, makeGuest, makeUser, type Party } from "../helpers/calls.ts";
import { connectStatus, holdOf, stripeApp } from "../helpers/stripe-app.ts";
import { fromUlid } from "../../src/domain/ids.ts";
import { VOID_AFTER_MS } from "../../src/domain/billing.ts";

const MIN = 60_000;

t.test("a call paid with Stripe, end to end", async (t) => {
  const { app, clock, server, onboardedHost, saveCard, deliver, eventOf } = await stripeApp(t);
  const pi = (id: string) => server.state.paymentIntents.get(id)!;
  const money = async (who: Party, url: string) => (await app.inject({ method: "GET", url, headers: bearer(who.token) })).json();

  await t.test("a host cannot take calls before Connect onboarding is finished", async (t) => {
    const host = await makeUser(app, "host");
    t.equal(await connectStatus(app, host), "not_started");
    const refused = await app.inject({ method: "POST", url: "/v1/links", headers: { ...json, ...bearer(host.token) }, payload: { rate_per_minute: "2.50", window_size_minutes: 10 } });
    t.same([refused.statusCode, refused.json().error.code], [402, "stripe_not_connected"]);
    const dash = await app.inject({ method: "POST", url: "/v1/payments/connect/dashboard", headers: bearer(host.token) });
    t.same([dash.statusCode, dash.json().error.code], [402, "stripe_not_connected"]);

    const started = await app.inject({ method: "POST", url: "/v1/payments/connect/onboarding", headers: bearer(host.token) });
    t.equal(started.statusCode, 200, started.body);
    t.match(started.json().url, /\/connect\/onboarding\/acct_/);
    const again = await app.inject({ method: "POST", url: "/v1/payments/connect/onboarding", headers: bearer(host.token) });
    t.equal(again.statusCode, 200);
    t.equal([...server.state.accounts.values()].filter((a) => a.metadata?.user_id === host.id).length, 1, "one Express account per host");
    t.equal(await connectStatus(app, host), "pending");

    const { accountRef } = await app.db.connectAccount.findUniqueOrThrow({ where: { userId: host.id } });
    t.match(server.state.accounts.get(accountRef), { type: "express", capabilities: {} });
    server.completeOnboarding(accountRef);
    const status = await app.inject({ method: "GET", url: "/v1/payments/connect", headers: bearer(host.token) });
    t.same(status.json(), { status: "enabled", charges_enabled: true, payouts_enabled: true, requirements_due: [] });
    t.equal((await app.inject({ method: "POST", url: "/v1/links", headers: { ...json, ...bearer(host.token) }, payload: { rate_per_minute: "2.50", window_size_minutes: 10 } })).statusCode, 201);
    t.equal((await app.inject({ method: "POST", url: "/v1/payments/connect/dashboard", headers: bearer(host.token) })).statusCode, 200);

    // Stripe restricts the account later (a webhook says so): the link is shown unavailable, calls are refused.
    const link = await createLink(app, host, { rate_per_minute: "2.50", window_size_minutes: 10 });
    server.restrictAccount(accountRef);
    t.equal((await deliver(eventOf("account.updated", accountRef))).status, 200);
    const resolved = (await app.inject({ method: "GET", url: `/v1/links/resolve/${link.short_code}` })).json();
    t.match(resolved, { available: false, unavailable_reason: "payments_disabled" });
    const guest = await makeGuest(app);
    const refusedCall = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token) }, payload: { short_code: link.short_code, payment_method_id: "pm_card_visa" } });
    t.same([refusedCall.statusCode, refusedCall.json().error.details], [410, { reason: "payments_disabled" }]);
    t.equal(await app.db.call.count({ where: { linkId: fromUlid(link.id)! } }), 0, "no call, no hold");
    server.completeOnboarding(accountRef);
    t.equal((await deliver(eventOf("account.updated", accountRef))).status, 200);
    t.match((await app.inject({ method: "GET", url: `/v1/links/resolve/${link.short_code}` })).json(), { available: true, unavailable_reason: null });
  });

  await t.test("a saved card pays an onboarded host: 1 minute at 2.50 → capture 2.50, fee 0.18, transfer 2.32", async (t) => {
    const host = await onboardedHost("Hana Host");
    const link = await createLink(app, host, { rate_per_minute: "2.50", window_size_minutes: 10 });
    const guest = await makeGuest(app, "Gus Guest");
    const setup = await app.inject({ method: "POST", url: "/v1/payments/guest/setup-intent", headers: bearer(guest.token) });
    t.equal(setup.statusCode, 201, setup.body);
    t.match(setup.json(), { client_secret: /^seti_.+_secret_/, publishable_key: server.publishableKey, provider: "stripe", test_payment_methods: null });
    const card = await saveCard(guest);
    t.match(card, /^pm_/);
    t.not(card, "pm_card_visa", "a saved card of its own");
    const { customerRef } = await app.db.paymentCustomer.findFirstOrThrow({ where: { ownerId: guest.id } });
    t.equal(server.state.paymentMethods.get(card)?.customer, customerRef, "attached to the guest's own customer");

    const key = "3b1c9d7e-1111-4a2b-8c3d-5e6f7a8b9c0d";
    const init = await app.inject({
      method: "POST",
      url: "/v1/calls/initiate",
      headers: { ...json, ...bearer(guest.token), "x-idempotency-key": key },
      payload: { short_code: link.short_code, payment_method_id: card },
    });
    t.equal(init.statusCode, 201, init.body);
    const callId = init.json().call.id as string;
    const hold1 = await holdOf(app, callId);
    t.match(pi(hold1), {
      amount: 2500,
      currency: "usd",
      capture_method: "manual",
      status: "requires_capture",
      customer: customerRef,
      payment_method: card,
      application_fee_amount: 175,
      transfer_data: { destination: host.account },
      metadata: { call_id: fromUlid(callId) },
    });

    const joined = await join(app, host, callId);
    const g = await connect(app, init.json().signaling_token);
    const h = await connect(app, joined.signaling_token);
    t.match(await g.next("billing"), { window: 1, status: "held" });
    await h.next("billing");
    await advance(app, clock, 45_000);
    const end = await app.inject({ method: "POST", url: `/v1/calls/${callId}/end`, headers: bearer(guest.token) });
    t.equal(end.statusCode, 200, end.body);
    t.match(end.json().call, { status: "completed", amount_charged: "2.50", end_reason: "guest_ended" });

    t.match(pi(hold1), { status: "succeeded", amount_received: 250 });
    const fee = [...server.state.applicationFees.values()].find((f) => f.charge === pi(hold1).latest_charge);
    t.equal(fee?.amount, 18, "application fee 0.18 (7 % of 2.50, half up)");
    const transfer = [...server.state.transfers.values()].find((x) => x.destination === host.account);
    t.equal(transfer?.amount, 232, "the host's account receives 2.32");
    const keys = server.requests.filter((r) => r.method === "POST" && r.path.startsWith("/v1/payment_intents")).map((r) => r.idempotencyKey);
    t.ok(keys.every((k) => k?.startsWith(`call:${fromUlid(callId)}:w1:`)), "every intent request carries a key derived from (call, window, action)");

    const history = await money(guest, "/v1/payments/history");
    t.same(history.data.map((e: any) => [e.type, e.amount]), [["charge", "2.50"]]);
    const earnings = await money(host, "/v1/payments/earnings");
    t.same(earnings, { earnings: [{ currency: "usd", gross: "2.50", fee: "0.18", net: "2.32", refunded: "0.00", disputed: "0.00", pending: "2.32", available: "0.00" }] });
    server.releaseFunds(host.account);
    t.match((await money(host, "/v1/payments/earnings")).earnings[0], { pending: "0.00", available: "2.32" }, "pending and available come from the provider's balance");

    await t.test("an admin's partial refund: the fee back in proportion, the transfer reversed, shown to both", async (t) => {
      const admin = await makeUser(app, "admin");
      const paymentId = history.data[0].payment_id as string;
      const refundKey = "9a8b7c6d-2222-4e5f-8a9b-0c1d2e3f4a5b";
      const refund = (amount: string | undefined, key = refundKey) =>
        app.inject({
          method: "POST",
          url: `/v1/admin/payments/${paymentId}/refund`,
          headers: { ...json, ...bearer(admin.token), "x-idempotency-key": key },
          payload: { ...(amount ? { amount } : {}), reason: "requested_by_customer" },
        });
      const first = await refund("1.00");
      t.equal(first.statusCode, 201, first.body);
      t.match(first.json().refund, { payment_id: paymentId, amount: "1.00", fee_refunded: "0.07", transfer_reversed: "0.93", status: "succeeded" });
      const replay = await refund("1.00");
      t.same(replay.json(), first.json(), "a retried request is the same refund");
      t.equal(server.state.refunds.size, 1, "the provider received one refund");
      const [r] = [...server.state.refunds.values()];
      t.match(r, { amount: 100, payment_intent: hold1 });
      t.same([...server.state.feeRefunds.values()].map((f) => f.amount), [7], "the fee refunded in proportion: 0.18 × 1.00 / 2.50");
      t.same([...server.state.transferReversals.values()].map((x) => x.amount), [93], "the host's transfer reversed by the rest");

      const tooMuch = await refund("1.51", "9a8b7c6d-3333-4e5f-8a9b-0c1d2e3f4a5b");
      t.same([tooMuch.statusCode, tooMuch.json().error.details], [400, { amount: "is more than the 1.50 left to refund" }]);
      t.equal(server.state.refunds.size, 1, "nothing more was refunded");
      const noKey = await app.inject({ method: "POST", url: `/v1/admin/payments/${paymentId}/refund`, headers: { ...json, ...bearer(admin.token) }, payload: { reason: "duplicate" } });
      t.equal(noKey.statusCode, 400, "X-Idempotency-Key is required");
      const asHost = await app.inject({ method: "POST", url: `/v1/admin/payments/${paymentId}/refund`, headers: { ...json, ...bearer(host.token), "x-idempotency-key": refundKey }, payload: { reason: "duplicate" } });
      t.equal(asHost.statusCode, 403);

      t.same((await money(guest, "/v1/payments/history")).data.map((e: any) => [e.type, e.amount, e.fee, e.net]), [["refund", "1.00", null, null], ["charge", "2.50", null, null]]);
      t.same((await money(host, "/v1/payments/history")).data.map((e: any) => [e.type, e.amount, e.fee, e.net]), [["refund", "1.00", "0.07", "0.93"], ["earning", "2.50", "0.18", "2.32"]]);
      t.match((await money(host, "/v1/payments/earnings")).earnings[0], { gross: "2.50", fee: "0.11", refunded: "1.00", net: "1.39", available: "1.39" });

      // The rest refunded, but every answer lost; Stripe's webhook records the refund meanwhile: the
      // admin's retry with the same key is that refund (not "nothing left to refund").
      server.fail(3, "lost_response", { method: "POST", path: "/v1/refunds" });
      const lostKey = "9a8b7c6d-4444-4e5f-8a9b-0c1d2e3f4a5b";
      const lost = await refund(undefined, lostKey);
      t.equal(lost.statusCode, 503, lost.body);
      t.equal((await deliver(eventOf("charge.refunded", pi(hold1).latest_charge as string))).status, 200);
      const retried = await refund(undefined, lostKey);
      t.equal(retried.statusCode, 201, retried.body);
      t.match(retried.json().refund, { amount: "1.50", fee_refunded: "0.11", transfer_reversed: "1.39" }, "the fee refunded in all is the whole fee, never more");
      t.equal(server.state.refunds.size, 2, "one refund at Stripe for that request");
      t.match((await money(host, "/v1/payments/earnings")).earnings[0], { gross: "2.50", fee: "0.00", refunded: "2.50", net: "0.00" });
    });
  });

  await t.test("the worked example of docs/billing.md on Stripe: 23 m 30 s at $3.00/min in 10-minute windows → 30.00 + 30.00 + 12.00", async (t) => {
    const host = await onboardedHost();
    const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
    const guest = await makeGuest(app);
    const card = await saveCard(guest);
    const init = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token) }, payload: { short_code: link.short_code, payment_method_id: card } });
    t.equal(init.statusCode, 201, init.body);
    const callId = init.json().call.id as string;
    const joined = await join(app, host, callId);
    const g = await connect(app, init.json().signaling_token);
    const h = await connect(app, joined.signaling_token);
    await g.next("billing");
    await h.next("billing");
    for (const step of [9, 1, 9, 1, 3.5]) await advance(app, clock, step * MIN);
    const end = await app.inject({ method: "POST", url: `/v1/calls/${callId}/end`, headers: bearer(host.token) });
    t.match(end.json().call, { status: "completed", amount_charged: "72.00", duration_seconds: 1410 });
    const intents = await Promise.all([1, 2, 3].map(async (k) => pi(await holdOf(app, callId, k))));
    t.same(intents.map((p) => [p.amount, p.status, p.amount_received]), [
      [3000, "succeeded", 3000],
      [3000, "succeeded", 3000],
      [3000, "succeeded", 1200],
    ], "three holds of 30.00, the last captured for 12.00");
    const offSession = [1, 2, 3].map((k) => server.requests.find((r) => r.idempotencyKey === `call:${fromUlid(callId)}:w${k}:hold`)?.params.off_session ?? null);
    t.same(offSession, [null, "true", "true"], "holds after the first are placed off-session");
    const fees = intents.map((p) => [...server.state.applicationFees.values()].find((f) => f.charge === p.latest_charge)?.amount);
    t.same(fees, [210, 210, 84], "7 % of each capture");
    const transfers = [...server.state.transfers.values()].filter((x) => x.destination === host.account).map((x) => x.amount);
    t.same(transfers, [2790, 2790, 1116], "the host receives 66.96");
  });

  await t.test("a declined card and a host who never comes: nothing captured, every hold released", async (t) => {
    const host = await onboardedHost();
    const link = await createLink(app, host, { rate_per_minute: "2.00", window_size_minutes: 5 });
    const guest = await makeGuest(app);
    const declined = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token) }, payload: { short_code: link.short_code, payment_method_id: await saveCard(guest, "pm_card_insufficientFunds") } });
    t.same([declined.statusCode, declined.json().error.code, declined.json().error.details], [402, "payment_declined", { decline_code: "insufficient_funds" }]);
    const unknown = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token) }, payload: { short_code: link.short_code, payment_method_id: "pm_does_not_exist" } });
    t.same([unknown.statusCode, unknown.json().error.code, unknown.json().error.details?.stripe_code], [402, "stripe_error", "resource_missing"], "another Stripe refusal: stripe_error with Stripe's code");

    const init = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token) }, payload: { short_code: link.short_code, payment_method_id: await saveCard(guest) } });
    t.equal(init.statusCode, 201, init.body);
    const callId = init.json().call.id as string;
    await advance(app, clock, 5 * MIN);
    t.match(await getCall(app, guest, callId), { status: "cancelled", end_reason: "host_no_show", amount_charged: "0.00" });
    t.equal(pi(await holdOf(app, callId)).status, "canceled", "the hold is released at Stripe");
  });

  await t.test("3-D Secure on the first hold: 402 with the intent to authenticate, then initiate with it", async (t) => {
    const host = await onboardedHost();
    const link = await createLink(app, host, { rate_per_minute: "1.00", window_size_minutes: 5 });
    const guest = await makeGuest(app);
    const card = await saveCard(guest, "pm_card_authenticationRequired");
    const body = { short_code: link.short_code, payment_method_id: card };
    const first = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token) }, payload: body });
    t.equal(first.statusCode, 402, first.body);
    const details = first.json().error.details;
    t.match(details, { decline_code: "authentication_required", client_secret: /_secret_/, payment_intent_id: /^pi_/ });
    t.equal(pi(details.payment_intent_id).status, "requires_action");

    const unauthenticated = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token) }, payload: { ...body, payment_intent_id: details.payment_intent_id } });
    t.same([unauthenticated.statusCode, Object.keys(unauthenticated.json().error.details)], [400, ["payment_intent_id"]], "not yet authenticated");
    server.authenticate(details.payment_intent_id);
    const other = await makeGuest(app);
    const stolen = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(other.token) }, payload: { short_code: link.short_code, payment_method_id: "pm_card_visa", payment_intent_id: details.payment_intent_id } });
    t.equal(stolen.statusCode, 400, "another payer cannot use it");
    const retried = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token) }, payload: { ...body, payment_intent_id: details.payment_intent_id } });
    t.equal(retried.statusCode, 201, retried.body);
    t.equal(await holdOf(app, retried.json().call.id), details.payment_intent_id, "the authenticated intent is window 1's hold");
    const twice = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token) }, payload: { ...body, payment_intent_id: details.payment_intent_id } });
    t.equal(twice.statusCode, 400, "an intent backs one call only");

    // Authenticated but never used: released once the time to retry is over.
    const idle = await makeGuest(app);
    const idleCard = await saveCard(idle, "pm_card_authenticationRequired");
    const abandoned = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(idle.token) }, payload: { short_code: link.short_code, payment_method_id: idleCard } });
    const unused = abandoned.json().error.details.payment_intent_id as string;
    server.authenticate(unused);
    t.equal(pi(unused).status, "requires_capture", "authorised on the payer's card");
    await advance(app, clock, 30 * MIN);
    t.equal(pi(unused).status, "canceled", "released when no retried initiate took it");
    const adopted = details.payment_intent_id as string;
    const cancels = server.requests.filter((r) => r.path === `/v1/payment_intents/${adopted}/cancel` && !r.replayed);
    t.same(cancels.map((r) => r.idempotencyKey), [`call:${fromUlid(retried.json().call.id)}:w1:release`], "the adopted hold is released only by its own call (here: the host never came)");
  });

  await t.test("a later hold that fails: both participants are warned before the boundary, the call ends billing_failed", async (t) => {
    const host = await onboardedHost();
    const link = await createLink(app, host, { rate_per_minute: "2.00", window_size_minutes: 2 });
    const guest = await makeGuest(app);
    const card = await saveCard(guest, "pm_card_declineAfterFirstHold");
    const init = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token) }, payload: { short_code: link.short_code, payment_method_id: card } });
    t.equal(init.statusCode, 201, init.body);
    const callId = init.json().call.id;
    const joined = await join(app, host, callId);
    const g = await connect(app, init.json().signaling_token);
    const h = await connect(app, joined.signaling_token);
    await g.next("billing");
    await h.next("billing");
    const started = clock.now();
    await advance(app, clock, MIN); // the hold for window 2 is due a minute before window 1 ends
    const boundary = new Date(started + 2 * MIN).toISOString();
    t.same(await g.next("billing"), { type: "billing", window: 2, status: "hold_failed", held_until: boundary });
    t.same(await h.next("billing"), { type: "billing", window: 2, status: "hold_failed", held_until: boundary });
    t.equal((await getCall(app, guest, callId)).status, "active", "the paid window goes on");
    const window2 = server.requests.filter((r) => r.path === "/v1/payment_intents" && r.params.off_session === "true");
    t.equal(window2.length >= 1, true, "the second hold was placed off-session");
    await advance(app, clock, MIN);
    t.match(await getCall(app, guest, callId), { status: "failed", end_reason: "billing_failed", amount_charged: "4.00" });
  });

  await t.test("outages: 503 with Retry-After, healed by retry, never a second intent", async (t) => {
    const host = await onboardedHost();
    const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 5 });
    const guest = await makeGuest(app);
    const card = await saveCard(guest);
    const initiate = (key: string) =>
      app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...json, ...bearer(guest.token), "x-idempotency-key": key }, payload: { short_code: link.short_code, payment_method_id: card } });

    // Stripe throttles: 503 with Retry-After; the guest's retry with the same key goes through.
    server.fail(1, "rate_limited", { method: "POST", path: "/v1/payment_intents" });
    const throttledKey = "0c0c0c0c-0000-4000-8000-000000000001";
    const throttled = await initiate(throttledKey);
    t.equal(throttled.statusCode, 503, throttled.body);
    t.match(throttled.headers["retry-after"], /^\d+$/);
    const healed = await initiate(throttledKey);
    t.equal(healed.statusCode, 201, healed.body);
    t.equal((await initiate(throttledKey)).statusCode, 201, "and is replayed from then on");

    // Stripe took the hold but every answer was lost: 503, and the engine releases the hold it finds.
    server.fail(3, "lost_response", { method: "POST", path: "/v1/payment_intents" });
    const lost = await initiate("0c0c0c0c-0000-4000-8000-000000000002");
    t.equal(lost.statusCode, 503, lost.body);
    t.match(lost.headers["retry-after"], /^\d+$/);
    t.same(lost.json().error, { code: "service_unavailable", message: lost.json().error.message, details: { reason: "payments_unavailable" } });
    // Both failed calls were made at the same instant: told apart by the hold Stripe placed for one.
    const intentsOf = (callId: string) => [...server.state.paymentIntents.values()].filter((p) => p.metadata?.call_id === callId);
    const failedCalls = await app.db.call.findMany({ where: { guestId: guest.id, status: "failed" } });
    t.equal(failedCalls.length, 2);
    const lostCall = failedCalls.find((c) => intentsOf(c.id).length > 0);
    const throttledCall = failedCalls.find((c) => c !== lostCall);
    t.same(intentsOf(lostCall!.id).map((p) => p.status), ["requires_capture"], "Stripe placed the hold whose answers were lost (and only that one)");
    await advance(app, clock, VOID_AFTER_MS);
    const key = `call:${lostCall!.id}:w1:hold`;
    const created = server.requests.filter((r) => r.idempotencyKey === key && !r.replayed && r.status === 200);
    t.equal(created.length, 1, "one intent for that key, however often it was asked for");
    t.same(intentsOf(lostCall!.id).map((p) => p.status), ["canceled"], "the engine found it and released it");
    t.same(intentsOf(throttledCall!.id), [], "a request Stripe never ran leaves nothing, and nothing is placed to find out");

    // The guest retries with a new key once Stripe is back.
    const retried = await initiate("0c0c0c0c-0000-4000-8000-000000000003");
    t.equal(retried.statusCode, 201, retried.body);

    // Captures during an outage: the call is over, its capture retried with backoff until Stripe is back.
    const callId = retried.json().call.id as string;
    const joined = await join(app, host, callId);
    const g = await connect(app, retried.json().signaling_token);
    const h = await connect(app, joined.signaling_token);
    await g.next("billing");
    await h.next("billing");
    await advance(app, clock, 2 * MIN);
    server.fail(3, "unreachable", { method: "POST", path: /\/capture$/ });
    const end = await app.inject({ method: "POST", url: `/v1/calls/${callId}/end`, headers: bearer(guest.token) });
    t.equal(end.statusCode, 200, end.body);
    t.match(end.json().call, { status: "failed", amount_charged: "0.00" });
    await advance(app, clock, 10_000);
    t.match(await getCall(app, guest, callId), { status: "completed", amount_charged: "6.00" });
    const hold = await holdOf(app, callId);
    t.match(pi(hold), { status: "succeeded", amount_received: 600 });
    const captures = server.requests.filter((r) => r.path === `/v1/payment_intents/${hold}/capture`);
    t.ok(captures.every((r) => r.idempotencyKey === `call:${fromUlid(callId)}:w1:capture`), "every capture attempt carries the same key");
    t.equal(await app.db.capture.count({ where: { callId: fromUlid(callId)! } }), 1, "charged once");
  });

  await t.test("a new host's earnings and payouts come from its (empty) account", async (t) => {
    const host = await onboardedHost();
    t.same(await money(host, "/v1/payments/earnings"), { earnings: [{ currency: "usd", gross: "0.00", fee: "0.00", net: "0.00", refunded: "0.00", disputed: "0.00", pending: "0.00", available: "0.00" }] });
    t.same(await money(host, "/v1/payments/payouts"), { data: [], pagination: { cursor: null, has_more: false, limit: 20 } });
    const guest = await makeGuest(app);
    t.equal((await app.inject({ method: "GET", url: "/v1/payments/earnings", headers: bearer(guest.token) })).statusCode, 401, "a guest token is not an account");
  });
});
