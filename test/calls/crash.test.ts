// After `kill -9` of the instance holding an active call, the call ends `connection_lost` within
// the 60 s reconnect grace (plus one ticker period) once any instance is up, charged exactly for
// the time until that instance's last heartbeat (rounded up per minute: docs/billing.md,
// "Holds and captures"), with no hold left open. Real processes on PostgreSQL: instance A is a child process
// (system clock) that is killed; instance B runs in this process on a manual clock that follows
// real time, so the test moves B's clock through the grace instead of waiting a minute.
import t, { type Test } from "tap";
import type { FastifyInstance } from "fastify";
import { ManualClock } from "../../src/domain/ports/clock.ts";
import { fromUlid } from "../../src/domain/ids.ts";
import { RECONNECT_GRACE_MS } from "../../src/domain/billing.ts";
import { INSTANCE_LEASE_MS } from "../../src/domain/instances.ts";
import { freshDatabaseUrl, testApp } from "../helpers/app.ts";
import { Client, connect as connectTo, makeGuest, makeUser, type Party } from "../helpers/calls.ts";
import { sharedKeyFile, startServer, type ServerProcess } from "../helpers/process.ts";
import WebSocket from "ws";

const skip = process.env.DATABASE_URL ? false : "needs PostgreSQL (DATABASE_URL): a killed process's database must outlive it";
const STEP_MS = 5_000;
const PUBLIC_URL = "http://vidivo.test";

async function api(base: string, method: string, url: string, token: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as Record<string, any>;
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A WebSocket client against a child process. */
function connectProcess(server: ServerProcess, token: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${encodeURIComponent(token)}`);
    const client = new Client(ws);
    ws.once("open", () => resolve(client));
    ws.once("error", reject);
  });
}

/** Keeps B's manual clock at real time (never backwards) and runs its ticker once. */
async function follow(app: FastifyInstance, clock: ManualClock) {
  clock.set(Math.max(clock.now(), Date.now()));
  await app.services.tick();
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, onEach?: () => Promise<unknown>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await fn();
    if (v) return v;
    await onEach?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Setup {
  t: Test;
  databaseUrl: string;
  keyFile: string;
}

async function instanceB(s: Setup) {
  const clock = new ManualClock(new Date());
  const { app } = await testApp(s.t, { databaseUrl: s.databaseUrl, env: { JWT_PRIVATE_KEY_FILE: s.keyFile, PUBLIC_URL }, overrides: { clock, tickIntervalMs: 0 } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  return { app, clock };
}

/** What the call looks like in the database, with the killed instance's last heartbeat. */
async function afterCrash(app: FastifyInstance, callId: string, instanceId: string) {
  const call = await app.db.call.findUniqueOrThrow({ where: { id: callId } });
  const lease = await app.db.instance.findUnique({ where: { id: instanceId } });
  return { call, lastBeat: lease?.heartbeatAt ?? null };
}

/** Moves B through the grace in ticker steps until the call is finished; returns B's clock then. */
async function tickUntilFinished(t: Test, app: FastifyInstance, clock: ManualClock, callId: string, limit: number) {
  while (clock.now() <= limit + STEP_MS) {
    clock.advance(STEP_MS);
    await app.services.tick();
    const { status } = await app.db.call.findUniqueOrThrow({ where: { id: callId } });
    if (["completed", "cancelled", "failed"].includes(status)) return clock.now();
  }
  t.fail("the call did not finish within the grace plus one ticker period");
  return clock.now();
}

/** The money: charged to the last heartbeat, rounded up per minute; every hold captured or released. */
async function assertSettled(t: Test, app: FastifyInstance, callId: string, lastBeat: Date, rateCents: number) {
  const call = await app.db.call.findUniqueOrThrow({ where: { id: callId } });
  t.equal(call.status, "completed");
  t.equal(call.endReason, "connection_lost");
  const expectedEnd = call.startedAt! > lastBeat ? call.startedAt! : lastBeat;
  t.same(call.endedAt, expectedEnd, "ended at the dead instance's last heartbeat");
  const minutes = Math.ceil((expectedEnd.getTime() - call.startedAt!.getTime()) / 60_000);
  t.equal(call.amountCharged, minutes * rateCents, `charged ${minutes} minute(s)`);
  const intents = await app.db.simPaymentIntent.findMany({ where: { reference: callId } });
  t.same(intents.filter((i) => i.status === "requires_capture"), [], "no hold left open at the provider");
  t.equal(intents.reduce((n, i) => n + i.capturedCents, 0), call.amountCharged, "the provider captured exactly that");
  const windows = await app.db.billingWindow.findMany({ where: { callId } });
  t.ok(windows.every((w) => w.holdStatus !== "held"), "every window settled");
}

t.test("kill -9 of the instance holding both sockets; the restarted service ends the call", { skip }, async (t) => {
  const databaseUrl = (await freshDatabaseUrl(t))!;
  const keyFile = sharedKeyFile(t);
  const env = { DATABASE_URL: databaseUrl, JWT_PRIVATE_KEY_FILE: keyFile, PUBLIC_URL };

  // Accounts are made through a short-lived in-process instance; then only A runs.
  const setup = await instanceB({ t, databaseUrl, keyFile });
  const host = await makeUser(setup.app, "host", "Hal");
  const guest = await makeGuest(setup.app);
  const hostToken = host.token;
  const guestToken = guest.token;
  await setup.app.close();

  const a = await startServer(t, env);
  const { link } = await api(a.base, "POST", "/v1/links", hostToken, { rate_per_minute: "1.00", window_size_minutes: 1 });
  const started = await api(a.base, "POST", "/v1/calls/initiate", guestToken, { short_code: link.short_code, payment_method_id: "pm_card_visa" });
  const joined = await api(a.base, "POST", `/v1/calls/${started.call.id}/join`, hostToken);
  const g = await connectProcess(a, started.signaling_token);
  const h = await connectProcess(a, joined.signaling_token);
  await g.next("billing");
  await h.next("billing");
  const callId = fromUlid(started.call.id)!;

  // A's lease has been renewed after the call started: that heartbeat is what survives it.
  const { call: before } = await waitForBeat(t, env.DATABASE_URL, callId);
  const instanceId = before.hostConn!.split(".")[0]!;
  a.child.kill("SIGKILL");
  await a.exited;
  const crashedAt = Date.now();
  t.equal((await g.closed).code, 1006, "the guest's socket died with the process");

  // The service comes back (a new instance on the same database).
  const b = await instanceB({ t, databaseUrl, keyFile });
  b.clock.set(crashedAt);
  const { call: stale, lastBeat } = await afterCrash(b.app, callId, instanceId);
  t.equal(stale.status, "active", "nobody has noticed yet");
  t.ok(lastBeat && lastBeat.getTime() <= crashedAt, "the lease's last heartbeat precedes the crash");
  await b.app.services.tick();
  const upAt = b.clock.now();

  const finishedAt = await tickUntilFinished(t, b.app, b.clock, callId, Math.max(upAt, lastBeat!.getTime() + RECONNECT_GRACE_MS));
  t.ok(finishedAt <= Math.max(upAt, lastBeat!.getTime() + RECONNECT_GRACE_MS) + STEP_MS, "ended within the grace plus one ticker period");
  await assertSettled(t, b.app, callId, lastBeat!, 100);
  const after = await b.app.db.call.findUniqueOrThrow({ where: { id: callId } });
  t.equal(after.hostConn, null, "presence no longer names the dead connections");
  t.equal(after.guestConn, null);
});

t.test("two instances, the one holding the guest is killed: the survivor finishes the call", { skip }, async (t) => {
  const databaseUrl = (await freshDatabaseUrl(t))!;
  const keyFile = sharedKeyFile(t);
  const env = { DATABASE_URL: databaseUrl, JWT_PRIVATE_KEY_FILE: keyFile, PUBLIC_URL };
  const b = await instanceB({ t, databaseUrl, keyFile });
  const host: Party = await makeUser(b.app, "host", "Hal");
  const guest = await makeGuest(b.app);
  const keepUp = () => follow(b.app, b.clock);

  const a = await startServer(t, env);
  await keepUp();
  const { link } = await api(a.base, "POST", "/v1/links", host.token, { rate_per_minute: "2.00", window_size_minutes: 5 });
  const started = await api(a.base, "POST", "/v1/calls/initiate", guest.token, { short_code: link.short_code, payment_method_id: "pm_card_visa" });
  const g = await connectProcess(a, started.signaling_token);
  await g.next("welcome");
  await keepUp();
  const joined = await api(`http://127.0.0.1:${(b.app.server.address() as { port: number }).port}`, "POST", `/v1/calls/${started.call.id}/join`, host.token);
  const h = await connectTo(b.app, joined.signaling_token);
  t.match(await h.next("welcome"), { peer_present: true }, "B sees the guest connected to A");
  const callId = fromUlid(started.call.id)!;
  await waitFor("the call to turn active", async () => (await b.app.db.call.findUniqueOrThrow({ where: { id: callId } })).status === "active", keepUp);

  const { call: before } = await waitForBeat(t, databaseUrl, callId, keepUp);
  const instanceId = before.guestConn!.split(".")[0]!;
  a.child.kill("SIGKILL");
  await a.exited;
  const crashedAt = Date.now();
  b.clock.set(Math.max(b.clock.now(), crashedAt));
  const { lastBeat } = await afterCrash(b.app, callId, instanceId);

  // Within the lease the guest still counts as connected; once it lapses, B reaps the connection.
  await b.app.services.tick();
  t.equal((await b.app.db.call.findUniqueOrThrow({ where: { id: callId } })).guestConn, before.guestConn, "the lease has not lapsed yet");
  b.clock.set(lastBeat!.getTime() + INSTANCE_LEASE_MS + STEP_MS);
  await b.app.services.tick();
  t.same(await h.next("peer_left"), { type: "peer_left", role: "guest" }, "the host hears that the guest is gone");

  await tickUntilFinished(t, b.app, b.clock, callId, lastBeat!.getTime() + RECONNECT_GRACE_MS);
  t.match(await h.next("call_ended"), { reason: "connection_lost" });
  t.equal((await h.closed).code, 4010);
  await assertSettled(t, b.app, callId, lastBeat!, 200);
});

/** Waits until the instance holding the call's connections has renewed its lease after the call started. */
async function waitForBeat(t: Test, databaseUrl: string, callId: string, onEach?: () => Promise<unknown>) {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  t.teardown(() => client.end());
  return waitFor(
    "a heartbeat after the call started",
    async () => {
      const { rows } = await client.query(
        `SELECT c.host_conn, c.guest_conn FROM calls c JOIN instances i ON i.id = split_part(coalesce(c.guest_conn, c.host_conn), '.', 1)
         WHERE c.id = $1 AND c.status = 'active' AND i.heartbeat_at > c.started_at`,
        [callId],
      );
      return rows[0] ? { call: { hostConn: rows[0].host_conn as string | null, guestConn: rows[0].guest_conn as string | null } } : null;
    },
    onEach,
  );
}
