// Payments on the default provider: the same payment operations answer the same shapes with the
// simulated provider (no onboarding, test payment methods, earnings available after a delay,
// refunds bounded by what was captured).
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { activeCall, advance, bearer, createLink, json, makeUser, type Party } from "../helpers/calls.ts";
import { TEST_PAYMENT_METHODS } from "../../src/adapters/payments/simulated.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

t.test("payments with the simulated provider", async (t) => {
  const { app, clock } = await testApp(t, { env: { PAYMENTS_AVAILABLE_AFTER_HOURS: "24" }, overrides: { tickIntervalMs: 0 } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const get = async (who: Party, url: string) => (await app.inject({ method: "GET", url, headers: bearer(who.token) })).json();
  const host = await makeUser(app, "host");

  t.same(await get(host, "/v1/payments/connect"), { status: "enabled", charges_enabled: true, payouts_enabled: true, requirements_due: [] }, "every host can take payments");
  const setup = await app.inject({ method: "POST", url: "/v1/payments/setup-intent", headers: bearer(host.token) });
  t.equal(setup.statusCode, 201);
  t.match(setup.json(), { client_secret: /^seti_sim_.+_secret_/, publishable_key: "pk_test_simulated", provider: "simulated" });
  t.same(setup.json().test_payment_methods, TEST_PAYMENT_METHODS);
  t.same(await get(host, "/v1/payments/earnings"), { earnings: [] }, "nothing earned yet");

  const link = await createLink(app, host, { rate_per_minute: "2.50", window_size_minutes: 10 });
  const call = await activeCall(app, host, link.short_code);
  await advance(app, clock, 90_000);
  const end = await app.inject({ method: "POST", url: `/v1/calls/${call.id}/end`, headers: bearer(call.guest.token) });
  t.match(end.json().call, { status: "completed", amount_charged: "5.00" });

  t.same((await get(host, "/v1/payments/earnings")).earnings, [
    { currency: "usd", gross: "5.00", fee: "0.35", net: "4.65", refunded: "0.00", disputed: "0.00", pending: "4.65", available: "0.00" },
  ]);
  const [charge] = (await get(call.guest, "/v1/payments/history")).data;
  clock.advance(24 * HOUR);
  t.match((await get(host, "/v1/payments/earnings")).earnings[0], { pending: "0.00", available: "4.65" }, "available after PAYMENTS_AVAILABLE_AFTER_HOURS");

  const admin = await makeUser(app, "admin");
  const refund = (amount: string | undefined, key: string) =>
    app.inject({
      method: "POST",
      url: `/v1/admin/payments/${charge.payment_id}/refund`,
      headers: { ...json, ...bearer(admin.token), "x-idempotency-key": key },
      payload: { ...(amount ? { amount } : {}), reason: "requested_by_customer" },
    });
  const partial = await refund("2.00", "5d4c3b2a-0000-4000-8000-000000000001");
  t.equal(partial.statusCode, 201, partial.body);
  t.match(partial.json().refund, { amount: "2.00", fee_refunded: "0.14", transfer_reversed: "1.86" });
  const rest = await refund(undefined, "5d4c3b2a-0000-4000-8000-000000000002");
  t.match(rest.json().refund, { amount: "3.00" }, "no amount: everything left");
  const none = await refund("0.01", "5d4c3b2a-0000-4000-8000-000000000003");
  t.same([none.statusCode, none.json().error.details], [400, { amount: "is more than the 0.00 left to refund" }]);
  const intent = await app.db.simPaymentIntent.findFirstOrThrow({ where: { status: "succeeded" } });
  t.equal(intent.refundedCents, 500, "the provider refunded 5.00 in all");
  t.same((await get(host, "/v1/payments/history")).data.map((e: any) => [e.type, e.amount]), [["refund", "3.00"], ["refund", "2.00"], ["earning", "5.00"]]);
  t.match((await get(host, "/v1/payments/earnings")).earnings[0], { gross: "5.00", refunded: "5.00", fee: "0.00", net: "0.00" });
  t.same((await get(host, "/v1/payments/history?type=refund")).data.map((e: any) => [e.amount, e.fee, e.net]), [["3.00", "0.21", "2.79"], ["2.00", "0.14", "1.86"]]);
  const unknown = await app.inject({ method: "POST", url: "/v1/admin/payments/01ARZ3NDEKTSV4RRFFQ69G5FAV/refund", headers: { ...json, ...bearer(admin.token), "x-idempotency-key": "5d4c3b2a-0000-4000-8000-000000000004" }, payload: { reason: "duplicate" } });
  t.equal(unknown.statusCode, 404);
});
