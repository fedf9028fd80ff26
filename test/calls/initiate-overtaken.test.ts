// A cancel that lands while initiate is still placing the first hold (a slow provider, as a real
// one is) wins. Initiate answers what happened instead of 201 waiting, the hold it placed is
// released, and the call stays cancelled: a later join is refused and nothing is charged.
import t from "tap";
import type { PaymentProvider, HoldInput } from "../../src/domain/ports/payments.ts";
import { simulatedPayments } from "../../src/adapters/payments/simulated.ts";
import { toUlid } from "../../src/domain/ids.ts";
import { testApp } from "../helpers/app.ts";
import { delegate, bearer, createLink, initiate, makeGuest, makeUser } from "../helpers/calls.ts";

/** The simulated provider, whose holds wait until the test lets them through. */
function gatedHolds() {
  let inner: PaymentProvider | undefined;
  let started: (callId: string) => void = () => {};
  let open: () => void = () => {};
  const provider = delegate({
    name: "gated",
    async hold(i: HoldInput) {
      const gate = new Promise<void>((r) => (open = r));
      started(i.reference);
      await gate;
      return inner!.hold(i);
    },
  }, () => inner);
  return {
    provider,
    attach: (p: PaymentProvider) => (inner = p),
    /** Resolves with the call id once a hold is waiting at the gate. */
    holdStarted: () => new Promise<string>((r) => (started = r)),
    open: () => open(),
  };
}

t.test("a cancel that overtakes initiate's first hold", async (t) => {
  const gate = gatedHolds();
  const { app } = await testApp(t, { overrides: { payments: gate.provider, tickIntervalMs: 0 } });
  gate.attach(simulatedPayments(app.sql, app.clock));
  const host = await makeUser(app, "host", "Hal");

  const cases = [
    {
      name: "the host deactivates the link: 410 link_unavailable",
      cancel: async (_callId: string, link: { id: string }) => app.inject({ method: "DELETE", url: `/v1/links/${link.id}`, headers: bearer(host.token) }),
      status: 410,
      code: "link_unavailable",
      reason: "link_unavailable",
    },
    {
      name: "the host declines the pending call: 409 call_not_active",
      cancel: async (callId: string) => app.inject({ method: "POST", url: `/v1/calls/${callId}/end`, headers: bearer(host.token) }),
      status: 409,
      code: "call_not_active",
      reason: "host_declined",
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const link = await createLink(app, host);
      const guest = await makeGuest(app);
      const holding = gate.holdStarted();
      const answer = initiate(app, guest, link.short_code);
      const callId = await holding;
      const cancelled = await c.cancel(toUlid(callId), link);
      t.ok(cancelled.statusCode < 300, `the cancel is answered first (${cancelled.statusCode})`);
      gate.open();
      const res = await answer;
      t.equal(res.statusCode, c.status, res.body);
      t.equal(res.json().error.code, c.code);

      const call = await app.db.call.findUniqueOrThrow({ where: { id: callId } });
      t.equal(call.status, "cancelled", "the cancel stands");
      t.equal(call.endReason, c.reason);
      const intents = await app.db.simPaymentIntent.findMany({ where: { reference: callId } });
      t.same(intents.map((i) => i.status), ["canceled"], "the hold placed meanwhile is released");
      const join = await app.inject({ method: "POST", url: `/v1/calls/${toUlid(callId)}/join`, headers: bearer(host.token) });
      t.equal(join.statusCode, 409, "a late join is refused");
      t.equal((await app.db.call.findUniqueOrThrow({ where: { id: callId } })).startedAt, null, "it never starts");
    });
  }
});

// A deactivation whose cancelling of waiting calls ran before this call existed (between initiate's
// look at the link and its call row: the host's DELETE /v1/links, or the host account's deletion)
// finds no call to cancel: initiate itself must not let the call wait on the inactive link.
t.test("a link deactivated before the call existed: 410 link_unavailable inactive, the hold released", async (t) => {
  const gate = gatedHolds();
  const { app } = await testApp(t, { overrides: { payments: gate.provider, tickIntervalMs: 0 } });
  gate.attach(simulatedPayments(app.sql, app.clock));
  const host = await makeUser(app, "host", "Hal");
  const link = await createLink(app, host);
  const guest = await makeGuest(app);
  const holding = gate.holdStarted();
  const answer = initiate(app, guest, link.short_code);
  const callId = await holding;
  // As the deactivation left it: inactive, and nothing done to this call.
  await app.db.callLink.update({ where: { shortCode: link.short_code }, data: { isActive: false } });
  gate.open();
  const res = await answer;
  t.equal(res.statusCode, 410, res.body);
  t.same(res.json().error, { code: "link_unavailable", message: res.json().error.message, details: { reason: "inactive" } });
  const call = await app.db.call.findUniqueOrThrow({ where: { id: callId } });
  t.equal(call.status, "cancelled", "the call never waits");
  t.equal(call.endReason, "link_unavailable");
  const intents = await app.db.simPaymentIntent.findMany({ where: { reference: callId } });
  t.same(intents.map((i) => i.status), ["canceled"], "its hold is released");
  t.equal((await app.db.callLink.findUniqueOrThrow({ where: { shortCode: link.short_code } })).useCount, 0, "no use counted");
});
