// An instance whose lease lapsed while it still held its sockets (a stall, a GC pause, a database
// outage longer than the 15-second lease): another instance rightly reaps its connections, and the
// reconnect grace starts. When the slow instance comes back, it records the sockets it still holds
// again, as a reconnection, before the grace ends the call: the call goes on, billing goes on,
// signaling goes on. If the call ended meanwhile, its sockets there are closed as an ended call's.
// Two apps share one database, one clock and the pub/sub (Redis when TEST_REDIS_URL is set); the
// host's socket is on A, the guest's on B. A "stalls" by not ticking; it can also be made deaf (the
// pub/sub messages meant for it are lost, as for an instance cut off from Redis meanwhile).
import { randomBytes } from "node:crypto";
import t, { type Test } from "tap";
import { Redis } from "ioredis";
import WebSocket from "ws";
import type { FastifyInstance } from "fastify";
import { MemoryPubSub } from "../../src/adapters/pubsub/memory.ts";
import { RedisPubSub } from "../../src/adapters/pubsub/redis.ts";
import type { PubSub } from "../../src/domain/ports/pubsub.ts";
import { ManualClock } from "../../src/domain/ports/clock.ts";
import { fromUlid } from "../../src/domain/ids.ts";
import { RECONNECT_GRACE_MS } from "../../src/domain/billing.ts";
import { HEARTBEAT_MS, INSTANCE_LEASE_MS } from "../../src/domain/instances.ts";
import { sharedDatabase, testApp } from "../helpers/app.ts";
import { bearer, connect, createLink, join, makeGuest, makeUser, nextWhere, startCall, type Client } from "../helpers/calls.ts";
import { TEST_REDIS_URL } from "../helpers/redis.ts";

const MIN = 60_000;

/** A's side of the pub/sub: while `deaf`, the messages meant for A are lost. */
class DeafenablePubSub implements PubSub {
  deaf = false;
  constructor(private inner: PubSub) {}
  publish(channel: string, message: string) {
    return this.inner.publish(channel, message);
  }
  subscribe(channel: string, handler: (message: string) => void) {
    return this.inner.subscribe(channel, (m) => {
      if (!this.deaf) handler(m);
    });
  }
  close() {
    return this.inner.close();
  }
}

/** One pub/sub per instance over TEST_REDIS_URL (a prefix of this run's own), else one in-process pub/sub for both. */
function buses(t: Test): [PubSub, PubSub] {
  if (!TEST_REDIS_URL) {
    const m = new MemoryPubSub();
    return [m, m];
  }
  const prefix = `vidivo-lease-lost:${randomBytes(6).toString("hex")}:`;
  const conns = [0, 1, 2, 3].map(() => new Redis(TEST_REDIS_URL!));
  // Registered first, so it runs last: after the apps have closed.
  t.teardown(() => Promise.all(conns.map((c) => c.quit())));
  const log = { error: (obj: unknown, msg: string) => t.fail(`${msg}: ${String(obj)}`), warn: () => {} };
  return [new RedisPubSub(conns[0]!, conns[1]!, log, prefix), new RedisPubSub(conns[2]!, conns[3]!, log, prefix)];
}

async function setup(t: Test) {
  const [busA, busB] = buses(t);
  const { database, dataDir, databaseUrl } = await sharedDatabase(t, "vidivo-lease-lost-");
  const clock = new ManualClock(new Date());
  const aBus = new DeafenablePubSub(busA);
  const opts = (pubsub: PubSub) => ({ dataDir, ...(databaseUrl ? { databaseUrl } : {}), overrides: { database, pubsub, clock, tickIntervalMs: 0 } });
  const { app: a } = await testApp(t, opts(aBus));
  const { app: b } = await testApp(t, opts(busB));
  await a.listen({ port: 0, host: "127.0.0.1" });
  await b.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(a, "host", "Hal");
  const link = await createLink(a, host, { rate_per_minute: "1.00", window_size_minutes: 5 });

  /** Moves the clock by `ms` one heartbeat at a time; at each step the given instances tick (in turn). */
  async function steps(ms: number, apps: FastifyInstance[]) {
    for (let done = 0; done < ms; done += HEARTBEAT_MS) {
      clock.advance(HEARTBEAT_MS);
      for (const app of apps) await app.services.tick();
    }
  }
  return {
    a,
    b,
    clock,
    aBus,
    host,
    link,
    /** Both instances alive: each renews its lease at every step. */
    both: (ms: number) => steps(ms, [a, b]),
    /** A stalls (neither its heartbeat nor its billing runs); B alone goes on. */
    onlyB: (ms: number) => steps(ms, [b]),
    row: (id: string) => b.db.call.findUniqueOrThrow({ where: { id } }),
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** An active call: the host's socket on A, the guest's on B; both saw window 1 held. */
async function activeCrossCall(t: Test, s: Setup) {
  const guest = await makeGuest(s.b);
  const started = await startCall(s.b, guest, s.link.short_code);
  const joined = await join(s.a, s.host, started.call.id);
  const g = await connect(s.b, started.signaling_token);
  await g.next("welcome");
  const h = await connect(s.a, joined.signaling_token);
  t.match(await h.next("welcome"), { role: "host", peer_present: true });
  t.same(await h.next("peer_joined"), { type: "peer_joined", role: "guest" });
  t.same(await g.next("peer_joined"), { type: "peer_joined", role: "host" });
  await nextWhere(g, "call_state", (f) => f.status === "active");
  await nextWhere(h, "call_state", (f) => f.status === "active");
  t.match(await g.next("billing"), { window: 1, status: "held" });
  t.match(await h.next("billing"), { window: 1, status: "held" });
  const id = fromUlid(started.call.id)!;
  const call = await s.row(id);
  t.ok(call.hostConn?.startsWith(`${s.a.services.instance.id}.`), "the host's connection is A's");
  t.ok(call.guestConn?.startsWith(`${s.b.services.instance.id}.`), "the guest's connection is B's");
  return { guest, ulid: started.call.id, id, g, h, hostConn: call.hostConn! };
}

/** Both instances beat once more; then A stalls until its lease has lapsed and B has reaped the host's connection. */
async function stallA(t: Test, s: Setup, id: string, g: Client) {
  await s.both(HEARTBEAT_MS);
  const lastBeat = s.clock.now();
  await s.onlyB(INSTANCE_LEASE_MS + HEARTBEAT_MS);
  t.same(await g.next("peer_left"), { type: "peer_left", role: "host" }, "B reaped the host's connection: the guest hears the host left");
  const reaped = await s.row(id);
  t.equal(reaped.hostConn, null, "no presence recorded for the host");
  t.equal(reaped.hostLeftAt?.getTime(), lastBeat, "gone since A's last heartbeat");
  const deadline = await s.b.db.callTask.findFirst({ where: { callId: id, kind: "reconnect_deadline", status: "pending" } });
  t.equal(deadline?.dueAt.getTime(), lastBeat + RECONNECT_GRACE_MS, "the reconnect deadline is scheduled");
  t.equal(s.a.services.signaling.size, 1, "A still holds the host's socket");
  return lastBeat;
}

t.test("A's lease lapses and B reaps its connection: A records it again, the call goes on", async (t) => {
  const s = await setup(t);
  const { ulid, id, g, h, hostConn } = await activeCrossCall(t, s);
  const callStart = (await s.row(id)).startedAt!.getTime();
  const lastBeat = await stallA(t, s, id, g);

  // A comes back: its heartbeat finds the host's socket without presence and records it again.
  await s.both(HEARTBEAT_MS);
  t.ok(s.a.services.instance.lapsed, "A's renewal came after its lease had lapsed");
  const back = await s.row(id);
  t.equal(back.hostConn, hostConn, "the same connection recorded again");
  t.equal(back.hostLeftAt, null);

  // Past the reconnect deadline, and past window 1's end: the call goes on and is billed.
  await s.both(lastBeat + RECONNECT_GRACE_MS + HEARTBEAT_MS - s.clock.now());
  const afterGrace = await s.row(id);
  t.equal(afterGrace.status, "active", "not ended connection_lost after the grace");
  t.equal(afterGrace.endReason, null);
  const deadline = await s.b.db.callTask.findFirst({ where: { callId: id, kind: "reconnect_deadline" } });
  t.equal(deadline?.status, "done", "the reconnect deadline ran and ended nothing");
  t.same(await g.next("peer_joined"), { type: "peer_joined", role: "host" }, "the guest heard the host is back, as after a reconnect");
  await s.both(callStart + 6 * MIN - s.clock.now());
  t.match(await nextWhere(g, "billing", (f) => f.window === 2), { status: "held" }, "window 2 held (guest)");
  t.match(await nextWhere(h, "billing", (f) => f.window === 2), { status: "held" }, "window 2 held (host, on A)");
  const captures = await s.b.db.capture.findMany({ where: { callId: id } });
  t.same(captures.map((c) => [c.windowIndex, c.grossCents]), [[1, 500]], "window 1 captured in full");
  const now = await s.row(id);
  t.equal(now.status, "active");
  t.equal(now.amountCharged, 500);

  // Both sockets still exchange signaling.
  g.send({ type: "offer", sdp: "v=0 offer" });
  t.same(await h.next("offer"), { type: "offer", sdp: "v=0 offer", from: "guest" });
  h.send({ type: "answer", sdp: "v=0 answer" });
  t.same(await g.next("answer"), { type: "answer", sdp: "v=0 answer", from: "host" });
  t.equal(g.frames.filter((f) => f.type === "call_ended").length, 0);
  t.equal(h.frames.filter((f) => f.type === "call_ended").length, 0);
  t.equal(h.ws.readyState, WebSocket.OPEN);

  // It ends as any call does.
  const end = await s.a.inject({ method: "POST", url: `/v1/calls/${ulid}/end`, headers: bearer(s.host.token) });
  t.equal(end.statusCode, 200);
  t.same(await g.next("call_ended"), { type: "call_ended", reason: "host_ended" });
  t.same(await h.next("call_ended"), { type: "call_ended", reason: "host_ended" });
  t.equal((await g.closed).code, 4010);
  t.equal((await h.closed).code, 4010);
});

t.test("a waiting guest's connection reaped while A stalled: recorded again, the host's arrival on B activates the call", async (t) => {
  const s = await setup(t);
  const guest = await makeGuest(s.a);
  const started = await startCall(s.a, guest, s.link.short_code);
  const id = fromUlid(started.call.id)!;
  const g = await connect(s.a, started.signaling_token);
  t.match(await g.next("welcome"), { role: "guest", peer_present: false });
  await s.both(HEARTBEAT_MS);
  await s.onlyB(INSTANCE_LEASE_MS + HEARTBEAT_MS);
  t.equal((await s.row(id)).guestConn, null, "B reaped the guest's connection");

  // The host arrives on B meanwhile: no guest is recorded.
  const joined = await join(s.b, s.host, started.call.id);
  const h = await connect(s.b, joined.signaling_token);
  t.match(await h.next("welcome"), { role: "host", peer_present: false });
  t.equal((await s.row(id)).status, "waiting");

  // A comes back: the guest is recorded again; the host hears of them and the call turns active.
  await s.both(HEARTBEAT_MS);
  t.same(await h.next("peer_joined"), { type: "peer_joined", role: "guest" });
  await nextWhere(h, "call_state", (f) => f.status === "active");
  await nextWhere(g, "call_state", (f) => f.status === "active");
  t.match(await g.next("billing"), { window: 1, status: "held" });
  t.match(await h.next("billing"), { window: 1, status: "held" });
  const call = await s.row(id);
  t.equal(call.status, "active");
  t.ok(call.guestConn?.startsWith(`${s.a.services.instance.id}.`));
  g.send({ type: "ice_restart" });
  t.same(await h.next("ice_restart"), { type: "ice_restart", from: "guest" });
  await Promise.all([g.close(), h.close()]);
});

t.test("the call ended while A stalled (its notice lost to A): A closes the host's socket 4010", async (t) => {
  await t.test("ended by the guest through B", async (t) => {
    const s = await setup(t);
    const { guest, ulid, id, g, h } = await activeCrossCall(t, s);
    s.aBus.deaf = true;
    const before = h.frames.length;
    await stallA(t, s, id, g);
    const end = await s.b.inject({ method: "POST", url: `/v1/calls/${ulid}/end`, headers: bearer(guest.token) });
    t.equal(end.statusCode, 200);
    t.match(end.json().call, { status: "completed", end_reason: "guest_ended" });
    t.same(await g.next("call_ended"), { type: "call_ended", reason: "guest_ended" });
    t.equal((await g.closed).code, 4010);

    s.aBus.deaf = false;
    await s.both(HEARTBEAT_MS);
    t.same(await h.next("call_ended"), { type: "call_ended", reason: "guest_ended" }, "A tells the host why");
    t.equal((await h.closed).code, 4010, "and closes the socket as for an ended call");
    const call = await s.row(id);
    t.match(call, { status: "completed", endReason: "guest_ended", hostConn: null }, "the ended call is not revived");
    t.same(h.frames.slice(before).map((f) => f.type), ["call_ended"], "nothing else: no peer_joined for a call that ended");
  });

  await t.test("the reconnect grace ran out: connection_lost", async (t) => {
    const s = await setup(t);
    const { id, g, h } = await activeCrossCall(t, s);
    s.aBus.deaf = true;
    const lastBeat = await stallA(t, s, id, g);
    // A stalls longer than the grace: the call rightly ends connection_lost.
    await s.onlyB(lastBeat + RECONNECT_GRACE_MS + HEARTBEAT_MS - s.clock.now());
    t.same(await g.next("call_ended"), { type: "call_ended", reason: "connection_lost" });
    t.equal((await g.closed).code, 4010);
    t.match(await s.row(id), { status: "completed", endReason: "connection_lost" });

    s.aBus.deaf = false;
    await s.both(HEARTBEAT_MS);
    t.same(await h.next("call_ended"), { type: "call_ended", reason: "connection_lost" });
    t.equal((await h.closed).code, 4010);
    t.match(await s.row(id), { status: "completed", endReason: "connection_lost", hostConn: null }, "the ended call is not revived");
  });
});
