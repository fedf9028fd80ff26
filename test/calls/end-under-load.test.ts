// Several hundred calls ended at once each get their final state and amount in the end answer, or a
// 202 with the call as it is (`ending`) when the billing ticker holds the call; never a 200 that
// presents an unfinished call as the result, and an idempotent replay never freezes a stale answer.
import { randomUUID } from "node:crypto";
import t from "tap";
import type { FastifyInstance } from "fastify";
import type { CaptureResult, PaymentProvider } from "../../src/domain/ports/payments.ts";
import { simulatedPayments } from "../../src/adapters/payments/simulated.ts";
import { MINUTE_MS } from "../../src/domain/billing.ts";
import { ManualClock } from "../../src/domain/ports/clock.ts";
import { toUlid } from "../../src/domain/ids.ts";
import { testApp } from "../helpers/app.ts";
import { delegate, bearer, makeGuest, makeUser, type Party } from "../helpers/calls.ts";

// Several hundred on PostgreSQL; fewer on the embedded database, whose one connection serialises every query.
const N = Number(process.env.END_LOAD_CALLS ?? (process.env.DATABASE_URL ? 200 : 60));
// Setting up hundreds of active calls takes minutes on a busy machine.
t.setTimeout(10 * 60_000);

/** The simulated provider, with captures slowed while `slowMs` is set. */
function slowCaptures() {
  const p: PaymentProvider & { inner?: PaymentProvider; slowMs: number } = delegate(
    {
      name: "slow-captures",
      slowMs: 0,
      inner: undefined as PaymentProvider | undefined,
      async capture(i: Parameters<PaymentProvider["capture"]>[0]): Promise<CaptureResult> {
        if (p.slowMs) await new Promise((r) => setTimeout(r, p.slowMs));
        return p.inner!.capture(i);
      },
    },
    () => p.inner,
  );
  return p;
}

/** `count` calls on `shortCode`, both participants connected: active, window 1 held (made 20 at a time). */
async function activeCalls(app: FastifyInstance, host: Party, shortCode: string, count: number) {
  const { calls } = app.services;
  const one = async (i: number) => {
    const guest = await makeGuest(app);
    await calls.initiate({ kind: "guest", id: guest.id }, { shortCode, paymentMethodId: "pm_card_visa" });
    const id = (await app.db.call.findFirstOrThrow({ where: { guestId: guest.id } })).id;
    await calls.join({ kind: "user", id: host.id }, id);
    await calls.connected(id, "guest", `${app.services.instance.id}.g${i}`);
    await calls.connected(id, "host", `${app.services.instance.id}.h${i}`);
    await calls.activate(id);
    return { id, guest };
  };
  const made: { id: string; guest: Party }[] = [];
  for (let i = 0; i < count; i += 20) made.push(...(await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) => one(i + j)))));
  return made;
}

t.test(`${N} calls ended at once`, async (t) => {
  const clock = new ManualClock(new Date());
  const provider = slowCaptures();
  const { app } = await testApp(t, { overrides: { clock, payments: provider, tickIntervalMs: 0, endWaitMs: 300 } });
  provider.inner = simulatedPayments(app.sql, clock);
  const host = await makeUser(app, "host", "Hal");
  const { link } = { link: await app.services.links.create(host.id, { rateCents: 100, windowMinutes: 10 }) };
  const end = (c: { id: string; guest: Party }, key: string) =>
    app.inject({ method: "POST", url: `/v1/calls/${toUlid(c.id)}/end`, headers: { ...bearer(c.guest.token), "x-idempotency-key": key } });

  await t.test("while the ticker holds every call: 202 with the call as it is, then the final answer", async (t) => {
    const batch = await activeCalls(app, host, link.shortCode, N);
    clock.advance(2.5 * MINUTE_MS);
    // The ticker has claimed these calls (its lease) and is busy with them.
    await app.db.call.updateMany({ where: { id: { in: batch.map((c) => c.id) } }, data: { leaseOwner: "busy-ticker", leaseUntil: new Date(clock.now() + 60_000) } });
    const keys = batch.map(() => randomUUID());
    const answers = await Promise.all(batch.map((c, i) => end(c, keys[i]!)));
    const statuses = answers.map((a) => `${a.statusCode} ${a.json().call?.status}`);
    t.same([...new Set(statuses)], ["202 ending"], "every answer is 202 with the call still ending");
    const replays = await Promise.all(batch.map((c, i) => end(c, keys[i]!)));
    t.same([...new Set(replays.map((a) => a.statusCode))], [202], "a replay asks again instead of freezing the 202");

    // The ticker finishes; the calls settle; the same keys now answer the final state.
    await app.db.call.updateMany({ where: { id: { in: batch.map((c) => c.id) } }, data: { leaseOwner: null, leaseUntil: null } });
    await app.services.tick();
    const finals = await Promise.all(batch.map((c, i) => end(c, keys[i]!)));
    t.same(
      [...new Set(finals.map((a) => `${a.statusCode} ${a.json().call.status} ${a.json().call.amount_charged} ${a.json().call.end_reason}`))],
      ["200 completed 3.00 guest_ended"],
      "each answer is the final state and amount (3 started minutes at $1.00)",
    );
    const again = await Promise.all(batch.slice(0, 20).map((c, i) => end(c, keys[i]!)));
    t.same(again.map((a) => a.body), finals.slice(0, 20).map((a) => a.body), "the final answer is replayed byte for byte");
  });

  await t.test("while the real ticker captures a window boundary with a slow provider", async (t) => {
    const batch = await activeCalls(app, host, link.shortCode, N);
    clock.advance(10.5 * MINUTE_MS); // past window 1: each call has a hold and a capture due
    provider.slowMs = 15;
    const ticking = app.services.tick();
    const answers = await Promise.all(batch.map((c) => end(c, randomUUID())));
    await ticking;
    provider.slowMs = 0;
    const seen = new Set(answers.map((a) => `${a.statusCode} ${a.json().call.status}${a.statusCode === 200 ? ` ${a.json().call.amount_charged}` : ""}`));
    for (const s of seen) t.ok(s === "200 completed 11.00" || s === "202 ending", `answer ${s}: final with its amount, or 202 ending`);
    t.ok(answers.some((a) => a.statusCode === 200), "calls not held by the ticker were settled in the answer");
    await app.services.tick();
    const rows = await app.db.call.findMany({ where: { id: { in: batch.map((c) => c.id) } } });
    t.same([...new Set(rows.map((r) => `${r.status} ${r.amountCharged}`))], ["completed 1100"], "every call settled: 10 + 1 started minutes");
    const open = await app.db.simPaymentIntent.count({ where: { reference: { in: batch.map((c) => c.id) }, status: "requires_capture" } });
    t.equal(open, 0, "no hold left open");
  });
});
