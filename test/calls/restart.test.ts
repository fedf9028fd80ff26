// With a call mid-window, a new app instance over the same database takes over; the clock passes
// two boundaries; each hold and capture happens exactly once at the provider.
// PGlite: the second instance opens the data directory after the first has closed. PostgreSQL
// (DATABASE_URL): two instances also run at once, both ticking, and still nothing is repeated.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { ManualClock } from "../../src/domain/ports/clock.ts";
import { fromUlid } from "../../src/domain/ids.ts";
import { HEARTBEAT_MS } from "../../src/domain/instances.ts";
import { freshDatabaseUrl, testApp } from "../helpers/app.ts";
import { bearer, connect, createLink, join, makeGuest, makeUser, startCall } from "../helpers/calls.ts";

const MIN = 60_000;

t.test("a second instance takes over the billing schedule without skipping or repeating a step", async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-restart-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const databaseUrl = await freshDatabaseUrl(t);
  const clock = new ManualClock(new Date());
  const opts = { dataDir, ...(databaseUrl ? { databaseUrl } : {}), overrides: { clock, tickIntervalMs: 0 } };

  const first = await testApp(t, opts);
  const app1 = first.app;
  await app1.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(app1, "host", "Hal");
  const guest = await makeGuest(app1);
  const link = await createLink(app1, host, { rate_per_minute: "1.00", window_size_minutes: 5 });
  const started = await startCall(app1, guest, link.short_code);
  const joined = await join(app1, host, started.call.id);
  const g = await connect(app1, started.signaling_token);
  const h = await connect(app1, joined.signaling_token);
  await g.next("billing");
  const callId = fromUlid(started.call.id)!;
  clock.advance(2 * MIN); // mid-window 1
  await app1.services.tick();

  // Instance 1 goes away (its sockets are closed with 1001); the clients reconnect to instance 2.
  await app1.close();
  t.equal((await g.closed).code, 1001);
  t.equal((await h.closed).code, 1001);
  const second = await testApp(t, opts);
  const app2 = second.app;
  await app2.listen({ port: 0, host: "127.0.0.1" });
  const gTok = await app2.inject({ method: "POST", url: `/v1/calls/${started.call.id}/signaling-token`, headers: bearer(app2.tokens.guest({ id: guest.id }).token) });
  const hTok = await app2.inject({ method: "POST", url: `/v1/calls/${started.call.id}/signaling-token`, headers: bearer(app2.tokens.access({ id: host.id, role: "host" }).token) });
  const g2 = await connect(app2, gTok.json().signaling_token);
  const h2 = await connect(app2, hTok.json().signaling_token);
  t.match(await g2.next("call_state"), { status: "active" });
  await h2.next("welcome");

  // Optionally a third instance on the same PostgreSQL database ticks at the same time.
  const others = [];
  if (databaseUrl) {
    const third = await testApp(t, { databaseUrl, overrides: { clock, tickIntervalMs: 0 } });
    others.push(third.app);
  }
  // Past two boundaries (5 and 10 minutes), every instance ticking concurrently, one heartbeat
  // apart: each instance renews its 15-second lease at every step, as it does every 5 s in real
  // time. (Steps of 30 s let one instance's lease lapse before its next beat, and another instance
  // rightly reaped its connections, ending the call as connection_lost one time in a few.)
  for (let elapsed = 0; elapsed < 9 * MIN; elapsed += HEARTBEAT_MS) {
    clock.advance(HEARTBEAT_MS);
    await Promise.all([app2, ...others].map((a) => a.services.tick()));
  }
  const requests = await app2.db.simPaymentRequest.findMany({ orderBy: { createdAt: "asc" } });
  const byKey = new Map<string, number>();
  for (const r of requests) byKey.set(r.idempotencyKey, (byKey.get(r.idempotencyKey) ?? 0) + 1);
  t.same(
    [...byKey.keys()].sort(),
    [1, 2, 3].map((k) => `call:${callId}:w${k}:hold`).concat([1, 2].map((k) => `call:${callId}:w${k}:capture`)).sort(),
    "holds for windows 1–3, captures for windows 1–2",
  );
  t.same([...byKey.values()], [1, 1, 1, 1, 1], "each exactly once at the provider");
  t.equal(requests.filter((r) => r.replayed).length, 0, "no retried request");
  const caps = await app2.db.capture.findMany({ where: { callId }, orderBy: { windowIndex: "asc" } });
  t.same(caps.map((c) => [c.windowIndex, c.grossCents]), [[1, 500], [2, 500]]);
  const call = await app2.db.call.findUniqueOrThrow({ where: { id: callId } });
  t.equal(call.status, "active");
  t.equal(call.amountCharged, 1000);
  await Promise.all([g2.close(), h2.close()]);
});
