// docs/billing.md, "Failed captures": a capture that fails marks the call failed and is retried by
// the engine; the retry charges once (the provider sees one successful capture per window). The
// provider is the simulated one behind a wrapper that refuses the first capture requests, as a
// flaky card network would.
import t from "tap";
import type { PaymentProvider, CaptureResult } from "../../src/domain/ports/payments.ts";
import { simulatedPayments } from "../../src/adapters/payments/simulated.ts";
import { fromUlid } from "../../src/domain/ids.ts";
import { testApp } from "../helpers/app.ts";
import { delegate, activeCall as activeCallOn, advance, bearer, createLink, getCall, makeUser } from "../helpers/calls.ts";

const MIN = 60_000;

/** The simulated provider, except that the next `failures` capture requests fail. */
function flakyCaptures() {
  let inner: PaymentProvider | undefined;
  const state = { failures: 0, refused: 0 };
  const provider = delegate({
    name: "flaky",
    capture: async (input: Parameters<PaymentProvider["capture"]>[0]): Promise<CaptureResult> => {
      if (state.failures > 0) {
        state.failures--;
        state.refused++;
        return { ok: false, error: "processing_error", final: false };
      }
      return inner!.capture(input);
    },
  }, () => inner);
  return { provider, state, attach: (p: PaymentProvider) => (inner = p) };
}

t.test("a capture that fails", async (t) => {
  const flaky = flakyCaptures();
  const { app, clock } = await testApp(t, { overrides: { tickIntervalMs: 0, payments: flaky.provider } });
  flaky.attach(simulatedPayments(app.sql, app.clock));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(app, "host", "Hal");
  const link = await createLink(app, host, { rate_per_minute: "2.00", window_size_minutes: 5 });

  const activeCall = () => activeCallOn(app, host, link.short_code);
  const intents = (callId: string) => app.db.simPaymentIntent.findMany({ where: { reference: fromUlid(callId)! }, orderBy: { createdAt: "asc" } });

  await t.test("at the end: the call is failed, both sides are told it ended, the retry completes it, charged once", async (t) => {
    const { guest, id, g, h } = await activeCall();
    await advance(app, clock, 2 * MIN + 10_000);
    flaky.state.failures = 1;
    const ended = await app.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer(guest.token) });
    t.equal(ended.statusCode, 200);
    t.match(ended.json().call, { status: "failed", end_reason: "guest_ended", amount_charged: "0.00", duration_seconds: 130 });
    t.match(await g.next("call_ended"), { reason: "guest_ended" });
    t.match(await h.next("call_ended"), { reason: "guest_ended" });
    t.equal((await g.closed).code, 4010, "the sockets close although the money is not settled yet");
    t.equal((await h.closed).code, 4010);

    await advance(app, clock, 4_000);
    t.equal((await getCall(app, guest, id)).status, "failed", "not retried before its time");
    await advance(app, clock, 1_000);
    t.match(await getCall(app, guest, id), { status: "completed", end_reason: "guest_ended", amount_charged: "6.00" }, "ceil(2 m 10 s) = 3 minutes × 2.00");
    t.same((await intents(id)).map((i) => [i.status, i.capturedCents]), [["succeeded", 600]], "captured once at the provider");
    t.equal(flaky.state.refused, 1);
    const history = await app.inject({ method: "GET", url: "/v1/payments/history", headers: bearer(guest.token) });
    t.same(history.json().data.map((e: { amount: string }) => e.amount), ["6.00"], "one charge in the history");
  });

  await t.test("at a window boundary: the call goes on, the capture is retried, charged once", async (t) => {
    const { guest, id, g } = await activeCall();
    flaky.state.refused = 0;
    flaky.state.failures = 2;
    await advance(app, clock, 5 * MIN); // window 1 ends: its capture is refused
    t.equal((await getCall(app, guest, id)).status, "active", "a refused capture does not end a call whose next window is held");
    t.equal(await app.db.capture.count({ where: { callId: fromUlid(id)! } }), 0);
    await advance(app, clock, 5_000); // first retry: refused again
    await advance(app, clock, 15_000); // second retry: captured
    t.equal(flaky.state.refused, 2);
    const caps = await app.db.capture.findMany({ where: { callId: fromUlid(id)! } });
    t.same(caps.map((c) => [c.windowIndex, c.grossCents]), [[1, 1000]], "window 1 captured in full, once");
    const ended = await app.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer(guest.token) });
    t.match(ended.json().call, { status: "completed", amount_charged: "12.00" }, "10.00 + ceil(20 s) = 1 minute × 2.00");
    t.same((await intents(id)).map((i) => [i.status, i.capturedCents]), [["succeeded", 1000], ["succeeded", 200]]);
    await g.closed;
  });
});
