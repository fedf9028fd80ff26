// Ends that reach the engine late (docs/calls.md, "Ending"): the ticker may run behind the clock,
// and a departure may be recorded after the fact (a crashed instance's connections are reaped
// later, at its last heartbeat). Whatever the order, a call's charge is the rule for its start
// and end:
//   - an end that fell due before the participant's own end request (the next hold declined, a
//     participant gone past the grace) came first: the call ended then, for that reason;
//   - a call never ends before a window that was already captured in full while it was active.
import t, { type Test } from "tap";
import type { HoldInput, HoldResult, PaymentProvider } from "../../src/domain/ports/payments.ts";
import { simulatedPayments } from "../../src/adapters/payments/simulated.ts";
import { MINUTE_MS, RECONNECT_GRACE_MS } from "../../src/domain/billing.ts";
import { ManualClock } from "../../src/domain/ports/clock.ts";
import { testApp } from "../helpers/app.ts";
import { activeCallInDomain, delegate, makeUser } from "../helpers/calls.ts";

t.test("ends the engine had not run yet, and a departure recorded after its window was billed", async (t) => {
  const clock = new ManualClock(new Date("2026-12-01T10:00:00Z"));
  // The simulated provider, except that the next `unanswered` hold requests get no answer (a timeout).
  const provider: PaymentProvider & { unanswered: number; inner?: PaymentProvider } = delegate(
    {
      name: "unanswered-holds",
      unanswered: 0,
      inner: undefined as PaymentProvider | undefined,
      async hold(i: HoldInput): Promise<HoldResult> {
        if (provider.unanswered > 0) {
          provider.unanswered--;
          throw new Error("the provider did not answer");
        }
        return provider.inner!.hold(i);
      },
    },
    () => provider.inner,
  );
  const { app } = await testApp(t, { overrides: { clock, payments: provider, tickIntervalMs: 0, endWaitMs: 1000 } });
  provider.inner = simulatedPayments(app.sql, clock);
  const host = await makeUser(app, "host", "Hal");
  const { calls, links, billing } = app.services;
  const asGuest = (id: string) => ({ kind: "guest" as const, id });
  const read = (id: string) => app.db.call.findUniqueOrThrow({ where: { id } });
  const captured = async (id: string) => (await app.db.capture.findMany({ where: { callId: id } })).map((c) => [c.windowIndex, c.grossCents]);

  await t.test("the next window's hold was declined: a later hang-up does not extend the call", async (t) => {
    const link = await links.create(host.id, { rateCents: 100, windowMinutes: 2 });
    const { id, guestId } = await activeCallInDomain(app, host.id, link.shortCode, "declined", "pm_card_declineAfterFirstHold");
    const startedAt = (await read(id)).startedAt!.getTime();
    // Window 2's hold falls due a minute before window 1 ends, and is declined: the call is to end at 2:00.
    clock.advance(MINUTE_MS);
    await billing.tick();
    // The ticker falls behind; the guest hangs up at 7:00, before it ran the end at 2:00.
    clock.advance(6 * MINUTE_MS);
    const ended = await calls.end(asGuest(guestId), id);
    t.ok(ended.finished);
    const call = await read(id);
    t.equal(call.endReason, "billing_failed", "the end that fell due first");
    t.equal(call.endedAt!.getTime() - startedAt, 2 * MINUTE_MS, "at the end of the last window paid for");
    t.equal(call.amountCharged, 200, "that window, not the five minutes after it");
    t.same(await captured(id), [[1, 200]]);
  });

  /** Window 2's hold (2-minute windows) falls due at 1:00; its first three attempts get no answer (retried 5 s, 15 s and 60 s later: at 2:20). */
  async function unansweredHold(t: Test, tag: string, attempts: number) {
    t.teardown(() => void (provider.unanswered = 0));
    const link = await links.create(host.id, { rateCents: 100, windowMinutes: 2 });
    const made = await activeCallInDomain(app, host.id, link.shortCode, tag);
    provider.unanswered = attempts;
    for (const step of [MINUTE_MS, 5_000, 15_000]) {
      clock.advance(step);
      await billing.tick();
    }
    return { ...made, startedAt: (await read(made.id)).startedAt!.getTime() };
  }

  await t.test("the next hold got no answer, and the call ended before its retry: that window is held and charged", async (t) => {
    const { id, guestId, startedAt } = await unansweredHold(t, "unanswered", 3);
    // The guest hangs up at 2:10, in window 2, before the hold's next attempt.
    clock.advance(50_000);
    const ended = await calls.end(asGuest(guestId), id);
    t.notOk(ended.finished, "the settlement waits for window 2's hold");
    clock.advance(10_000);
    await billing.tick();
    const call = await read(id);
    t.equal(call.status, "completed");
    t.equal(call.endReason, "guest_ended");
    t.equal(call.endedAt!.getTime() - startedAt, 130_000);
    t.equal(call.amountCharged, 300, "window 1 in full and the started minute of window 2");
    t.same(await captured(id), [[1, 200], [2, 100]]);
  });

  await t.test("a hold that never gets an answer counts as declined once its retries are spent", async (t) => {
    const { id, guestId, startedAt } = await unansweredHold(t, "never", 4);
    clock.advance(50_000);
    await calls.end(asGuest(guestId), id);
    clock.advance(10_000);
    await billing.tick(); // the fourth attempt fails too
    const call = await read(id);
    t.equal(call.status, "failed");
    t.equal(call.endReason, "billing_failed");
    t.equal(call.endedAt!.getTime() - startedAt, 2 * MINUTE_MS, "ended where it was paid");
    t.equal(call.amountCharged, 200);
    t.same(await captured(id), [[1, 200]]);
  });

  await t.test("a participant gone past the grace: a later hang-up by the other ends it when they left", async (t) => {
    const link = await links.create(host.id, { rateCents: 100, windowMinutes: 10 });
    const { id, guestId } = await activeCallInDomain(app, host.id, link.shortCode, "gone");
    const call0 = await read(id);
    clock.advance(3 * MINUTE_MS + 20_000);
    const leftAt = new Date(clock.now());
    t.ok(await calls.disconnected(id, "host", call0.hostConn!, leftAt), "the host's connection drops at 3:20");
    // Past the grace, before the ticker ran the deadline, the guest hangs up.
    clock.advance(RECONNECT_GRACE_MS + 4 * MINUTE_MS);
    await calls.end(asGuest(guestId), id);
    const call = await read(id);
    t.equal(call.endReason, "connection_lost");
    t.same(call.endedAt, leftAt, "ended when the host left");
    t.equal(call.amountCharged, 400, "ceil(3 m 20 s) = 4 minutes, not the 8 until the hang-up");
  });

  await t.test("a window's end passed while a participant was away: its capture waits for their deadline", async (t) => {
    const link = await links.create(host.id, { rateCents: 100, windowMinutes: 1 });
    const { id } = await activeCallInDomain(app, host.id, link.shortCode, "away");
    const call0 = await read(id);
    const startedAt = call0.startedAt!.getTime();
    clock.advance(10_000);
    t.ok(await calls.disconnected(id, "guest", call0.guestConn!, new Date(clock.now())), "the guest drops at 0:10");
    // The ticker next runs at 1:15: window 1 ended at 1:00, the guest's grace at 1:10.
    clock.advance(65_000);
    await billing.tick();
    const call = await read(id);
    t.equal(call.endReason, "connection_lost");
    t.equal(call.endedAt!.getTime() - startedAt, 10_000, "ended when the guest left, not at the window's end");
    t.equal(call.amountCharged, 100);
    t.same(await captured(id), [[1, 100]]);
  });

  await t.test("a departure recorded after its window was captured in full ends the call at that window's end", async (t) => {
    const link = await links.create(host.id, { rateCents: 100, windowMinutes: 3 });
    const { id } = await activeCallInDomain(app, host.id, link.shortCode, "late");
    const call0 = await read(id);
    const startedAt = call0.startedAt!.getTime();
    clock.advance(3 * MINUTE_MS);
    await billing.tick();
    t.same(await captured(id), [[1, 300]], "window 1 captured in full at 3:00");
    // Only now is the guest recorded as gone since 1:30 (their instance's last heartbeat, reaped late).
    t.ok(await calls.disconnected(id, "guest", call0.guestConn!, new Date(startedAt + 90_000)));
    clock.advance(RECONNECT_GRACE_MS);
    await billing.tick();
    const call = await read(id);
    t.equal(call.status, "completed");
    t.equal(call.endReason, "connection_lost");
    t.equal(call.endedAt!.getTime() - startedAt, 3 * MINUTE_MS, "not before the window already billed");
    t.equal(call.amountCharged, 300, "the window captured, and nothing taken back or added");
    t.same(await captured(id), [[1, 300]]);
    const intents = await app.db.simPaymentIntent.findMany({ where: { reference: id } });
    t.same(intents.map((i) => [i.status, i.capturedCents]).sort(), [["canceled", 0], ["succeeded", 300]], "window 2's hold released");
  });
});
