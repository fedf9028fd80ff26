// The billing ticker works on many calls at once (docs/billing.md, "Durable schedule"): at one
// window boundary the provider requests of different calls are in flight together, never more than
// the engine's bound, and each step still happens exactly once. Then generated interleavings: two
// engines on one database tick concurrently (the provider's answers released in orders fast-check
// chooses) while calls are ended through either, and no hold or capture is ever requested twice,
// and every window is charged by the rule.
import fc from "fast-check";
import t from "tap";
import type { FastifyInstance } from "fastify";
import type { CaptureResult, HoldInput, HoldResult, PaymentProvider } from "../../src/domain/ports/payments.ts";
import { MemoryPubSub } from "../../src/adapters/pubsub/memory.ts";
import { simulatedPayments } from "../../src/adapters/payments/simulated.ts";
import { MINUTE_MS } from "../../src/domain/billing.ts";
import { FINISHED } from "../../src/domain/call-state.ts";
import { ManualClock } from "../../src/domain/ports/clock.ts";
import { sharedDatabase, testApp } from "../helpers/app.ts";
import { activeCallInDomain, delegate, makeUser } from "../helpers/calls.ts";

const onPostgres = Boolean(process.env.DATABASE_URL);

/**
 * The billing rule for one call (docs/billing.md, "Holds and captures"): each window used is
 * captured once, for ceil(minutes used in it) × rate. `repeats`: a provider request may have been
 * sent again with its key (a lease that lapsed while its step was under way); the provider answers
 * it as the first, and the money must still be right.
 */
async function assertBilledOnce(app: FastifyInstance, callId: string, repeats = false): Promise<string[]> {
  const problems: string[] = [];
  const call = await app.db.call.findUniqueOrThrow({ where: { id: callId } });
  if (!FINISHED.includes(call.status)) problems.push(`still ${call.status}`);
  const requests = await app.db.simPaymentRequest.findMany({ where: { idempotencyKey: { startsWith: `call:${callId}:` } } });
  const perKey = new Map<string, number>();
  for (const r of requests) perKey.set(r.idempotencyKey, (perKey.get(r.idempotencyKey) ?? 0) + 1);
  const firsts = requests.filter((r) => !r.replayed).length;
  if (firsts !== perKey.size) problems.push(`${firsts} first requests for ${perKey.size} keys`);
  if (!repeats) for (const [key, n] of perKey) if (n !== 1) problems.push(`${key} requested ${n} times`);
  const captures = await app.db.capture.findMany({ where: { callId }, orderBy: { windowIndex: "asc" } });
  const expected: [number, number][] = [];
  if (call.startedAt && call.endedAt) {
    const W = call.windowMinutes * MINUTE_MS;
    const s = call.startedAt.getTime();
    const e = call.endedAt.getTime();
    for (let k = 1; s + (k - 1) * W < e; k++) expected.push([k, Math.ceil((Math.min(e, s + k * W) - (s + (k - 1) * W)) / MINUTE_MS) * call.rateCents]);
  }
  const got = captures.map((c) => [c.windowIndex, c.grossCents] as [number, number]);
  if (JSON.stringify(got) !== JSON.stringify(expected)) problems.push(`captured ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  const intents = await app.db.simPaymentIntent.findMany({ where: { reference: callId } });
  if (intents.some((i) => i.status === "requires_capture")) problems.push("a hold is left open");
  const atProvider = intents.reduce((n, i) => n + i.capturedCents, 0);
  if (atProvider !== call.amountCharged) problems.push(`charged ${call.amountCharged}, the provider captured ${atProvider}`);
  return problems.map((p) => `call ${callId}: ${p}`);
}

t.test("one boundary: captures of many calls are in flight together, within the bound, each once", async (t) => {
  const BOUND = 6;
  const CALLS = 15;
  const clock = new ManualClock(new Date());
  // Captures wait at a gate until BOUND of them are in flight at once; then it stays open.
  let inFlight = 0;
  let most = 0;
  let open = false;
  const waiting: (() => void)[] = [];
  let reached!: () => void;
  const boundReached = new Promise<void>((r) => (reached = r));
  const openGate = () => {
    open = true;
    reached();
    for (const w of waiting.splice(0)) w();
  };
  const provider: PaymentProvider & { inner?: PaymentProvider } = delegate(
    {
      name: "gated-captures",
      inner: undefined as PaymentProvider | undefined,
      async capture(i: Parameters<PaymentProvider["capture"]>[0]): Promise<CaptureResult> {
        most = Math.max(most, ++inFlight);
        try {
          if (!open) {
            if (inFlight >= BOUND) openGate();
            else await new Promise<void>((r) => waiting.push(r));
          }
          return await provider.inner!.capture(i);
        } finally {
          inFlight--;
        }
      },
    },
    () => provider.inner,
  );
  const { app } = await testApp(t, { env: { BILLING_PARALLELISM: String(BOUND) }, overrides: { clock, payments: provider, tickIntervalMs: 0 } });
  provider.inner = simulatedPayments(app.sql, clock);
  const host = await makeUser(app, "host", "Hal");
  const link = await app.services.links.create(host.id, { rateCents: 100, windowMinutes: 1 });
  const calls = [];
  for (let i = 0; i < CALLS; i++) calls.push(await activeCallInDomain(app, host.id, link.shortCode, String(i)));
  await app.services.tick(); // window 2's holds (due when each call turned active)

  clock.advance(MINUTE_MS); // window 1 ends for every call: CALLS captures (and window 3's holds) are due
  const ticking = app.services.tick();
  // A guard against a ticker that waits for each capture before starting the next (it never
  // reaches the bound): fail, then let it finish.
  const guard = setTimeout(() => {
    t.fail(`only ${most} capture(s) were ever in flight at once`);
    openGate();
  }, 30_000);
  await boundReached;
  clearTimeout(guard);
  await ticking;
  t.equal(most, BOUND, `${BOUND} captures in flight at once, never more`);

  const requests = await app.db.simPaymentRequest.findMany({ where: { action: "capture" } });
  t.equal(requests.length, CALLS, "one capture request per call");
  t.equal(new Set(requests.map((r) => r.idempotencyKey)).size, CALLS, "for window 1 of each call");
  const captures = await app.db.capture.findMany({ where: { callId: { in: calls.map((c) => c.id) } } });
  t.same([...new Set(captures.map((c) => `${c.windowIndex} ${c.grossCents}`))], ["1 100"], "window 1 captured at $1.00");
  t.equal(captures.length, CALLS);
  const holds = await app.db.billingWindow.count({ where: { callId: { in: calls.map((c) => c.id) }, index: 3, holdStatus: "held" } });
  t.equal(holds, CALLS, "and window 3 held for each call");

  for (const c of calls) await app.services.calls.end({ kind: "guest", id: c.guestId }, c.id);
  await app.services.tick();
  const problems = (await Promise.all(calls.map((c) => assertBilledOnce(app, c.id)))).flat();
  t.same(problems, [], "every call billed once, by the rule");
});

t.test("two engines on one database, generated interleavings: no step twice, every window by the rule", async (t) => {
  // Some steps move the clock past the leases while the engines work (released at a point
  // fast-check picks): a step under way may then be repeated, by its key, and nothing else changes.
  const RUNS = Number(process.env.BILLING_RUNS ?? (onPostgres ? 25 : 6));
  const { database, dataDir, databaseUrl } = await sharedDatabase(t, "vidivo-billing-fc-");
  const clock = new ManualClock(new Date());
  const pubsub = new MemoryPubSub();
  // Every hold, capture and release waits for the scheduler of the run in progress, which
  // releases them (across both engines) in the order fast-check picks. A request that an engine
  // makes while its own request with that key is still under way is noted: one engine never works
  // on a call twice at once, its leases lapsed or not.
  const current: { s?: fc.Scheduler } = {};
  const underWay = new Set<string>();
  const twice: string[] = [];
  const scheduled = async <T>(engine: string, label: string, key: string, f: () => Promise<T>): Promise<T> => {
    const mine = `${engine} ${key}`;
    if (underWay.has(mine)) twice.push(mine);
    underWay.add(mine);
    try {
      if (current.s) await current.s.schedule(Promise.resolve(label), label);
      return await f();
    } finally {
      underWay.delete(mine);
    }
  };
  const engine = async (name: string, parallelism: number) => {
    const provider: PaymentProvider & { inner?: PaymentProvider } = delegate(
      {
        name: `scheduled-${name}`,
        inner: undefined as PaymentProvider | undefined,
        hold: (i: HoldInput): Promise<HoldResult> => scheduled(name, `${name} hold w${i.window}`, i.idempotencyKey, () => provider.inner!.hold(i)),
        capture: (i: Parameters<PaymentProvider["capture"]>[0]) => scheduled(name, `${name} capture`, i.idempotencyKey, () => provider.inner!.capture(i)),
        release: (i: Parameters<PaymentProvider["release"]>[0]) => scheduled(name, `${name} release`, i.idempotencyKey, () => provider.inner!.release(i)),
      },
      () => provider.inner,
    );
    const opts = { dataDir, ...(databaseUrl ? { databaseUrl } : {}) };
    const { app } = await testApp(t, { ...opts, env: { BILLING_PARALLELISM: String(parallelism) }, overrides: { database, pubsub, clock, payments: provider, tickIntervalMs: 0, endWaitMs: 2000 } });
    provider.inner = simulatedPayments(app.sql, clock);
    return app;
  };
  const a = await engine("A", 4);
  const b = await engine("B", 3);
  const apps = { A: a, B: b };
  const host = await makeUser(a, "host", "Hal");

  const step = fc.record({
    advanceSeconds: fc.integer({ min: 0, max: 150 }),
    jumpSeconds: fc.option(fc.integer({ min: 61, max: 150 }), { nil: undefined, freq: 2 }),
    tickA: fc.boolean(),
    tickB: fc.boolean(),
    end: fc.option(fc.record({ call: fc.nat(), via: fc.constantFrom<"A" | "B">("A", "B") }), { nil: undefined }),
  });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.array(step, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.scheduler(), async (windowMinutes, count, steps, lapses, s) => {
      run++;
      const link = await a.services.links.create(host.id, { rateCents: 100, windowMinutes });
      const calls = [];
      for (let i = 0; i < count; i++) calls.push(await activeCallInDomain(a, host.id, link.shortCode, `${run}.${i}`));
      current.s = s;
      const jumps = lapses && steps.some((st) => st.jumpSeconds !== undefined);
      try {
        for (const st of steps) {
          clock.advance(st.advanceSeconds * 1000);
          const work: Promise<unknown>[] = [];
          if (st.tickA) work.push(a.services.billing.tick());
          if (st.tickB) work.push(b.services.billing.tick());
          if (lapses && st.jumpSeconds !== undefined) work.push(s.schedule(Promise.resolve("clock jump"), "clock jump").then(() => clock.advance(st.jumpSeconds! * 1000)));
          if (st.end) {
            const c = calls[st.end.call % calls.length]!;
            work.push(apps[st.end.via].services.calls.end({ kind: "guest", id: c.guestId }, c.id));
          }
          await s.waitFor(Promise.all(work));
        }
        // Every call ends; both engines tick until everything is settled.
        for (const c of calls) await s.waitFor(a.services.calls.end({ kind: "guest", id: c.guestId }, c.id));
        for (let i = 0; i < 5; i++) {
          clock.advance(5_000);
          await s.waitFor(Promise.all([a.services.billing.tick(), b.services.billing.tick()]));
        }
      } finally {
        current.s = undefined;
      }
      const problems = (await Promise.all(calls.map((c) => assertBilledOnce(a, c.id, jumps)))).flat();
      problems.push(...twice.splice(0).map((k) => `${k}: requested again by the same engine while under way`));
      if (problems.length) throw new Error(problems.join("\n"));
    }),
    { numRuns: RUNS },
  );
  t.pass(`${run} generated runs (with shrinking): each step once at the provider, or repeated by its key when its lease lapsed`);
});

t.test("a migration that changes the calls table while the engine runs: its next boundary still bills every call", async (t) => {
  // On PostgreSQL the engine's statements are prepared once per pooled connection; one whose result
  // columns came from `*` would fail on every connection that prepared it once the table changed
  // ("cached plan must not change result type"), stopping billing until a restart. Enough calls at
  // once that every connection of the pool prepares the engine's statements before the change.
  const CALLS = 30;
  const clock = new ManualClock(new Date());
  const { app } = await testApp(t, { overrides: { clock, tickIntervalMs: 0 } });
  const host = await makeUser(app, "host", "Hal");
  const link = await app.services.links.create(host.id, { rateCents: 100, windowMinutes: 1 });
  const calls = [];
  for (let i = 0; i < CALLS; i++) calls.push(await activeCallInDomain(app, host.id, link.shortCode, String(i)));
  // The billing engine's ticks alone: the participants' recorded connections stay as they are.
  const tick = () => app.services.billing.tick();
  await tick(); // window 2's holds
  clock.advance(MINUTE_MS);
  await tick(); // window 1's captures, window 3's holds: every statement of a boundary, on every connection

  // A later version's migration, applied by an instance starting next to this one.
  await app.db.$executeRawUnsafe(`ALTER TABLE "calls" ADD COLUMN "added_by_a_later_version" integer`);
  clock.advance(MINUTE_MS);
  await tick(); // window 2's captures
  const captured = await app.db.capture.count({ where: { callId: { in: calls.map((c) => c.id) }, windowIndex: 2 } });
  t.equal(captured, CALLS, "window 2 captured for every call");
  for (const c of calls) await app.services.calls.end({ kind: "guest", id: c.guestId }, c.id);
  await tick();
  const problems = (await Promise.all(calls.map((c) => assertBilledOnce(app, c.id)))).flat();
  t.same(problems, [], "every call billed once, by the rule");
});
