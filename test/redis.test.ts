// REDIS_URL: two app instances on one database and one real Redis behave as one — shared rate-limit
// budgets, signaling relayed across instances — and a Redis outage is survived: limits fail open
// with one warning, /ready answers 503, relay resumes by itself. The shared Redis is
// TEST_REDIS_URL; the outage tests start their own redis-server so they can kill it.
import t, { type Test } from "tap";
import { Redis } from "ioredis";
import { defaultRateLimits } from "../src/config.ts";
import { ManualClock } from "../src/domain/ports/clock.ts";
import { fromUlid } from "../src/domain/ids.ts";
import { loadContract } from "../src/contract/spec.ts";
import { contractObserver } from "./helpers/contract.ts";
import { captureLogs, relaxedLimits, sharedDatabase, testApp } from "./helpers/app.ts";
import { bearer, connect, createLink, join, makeGuest, makeUser, nextWhere, startCall } from "./helpers/calls.ts";
import { NO_REDIS, NO_REDIS_SERVER, TEST_REDIS_URL, ownRedis } from "./helpers/redis.ts";
import { RedisPubSub } from "../src/adapters/pubsub/redis.ts";
import { errorBody, json } from "./helpers/v1.ts";
import { until } from "./helpers/wait.ts";
import type { FastifyInstance } from "fastify";

const RATE_LIMITED = errorBody("rate_limited", "Too many requests. Try again later.");
const LIMITS = { ...relaxedLimits, login: defaultRateLimits.login };
const FAIL_OPEN = "rate limits are not enforced: Redis unreachable";

/** An address no other run of this file uses (the shared Redis outlives a run). */
const randomIp = () => `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 254) + 1).join(".")}`;

const login = (app: FastifyInstance, ip: string) =>
  app.inject({ method: "POST", url: "/v1/auth/login", remoteAddress: ip, headers: json, payload: { email: "x@example.com", password: "wrong password" } });

/**
 * Two listening instances on one database, one clock and the Redis at `url`; no pub/sub or counter
 * override. `outage`: Redis will be stopped, so limited responses may lack the X-RateLimit headers
 * (fail open; the test asserts them itself); every response is still checked against the spec.
 */
async function twoInstances(t: Test, url: string, outage?: { logStream: NodeJS.WritableStream }) {
  const { database, dataDir, databaseUrl } = await sharedDatabase(t, "vidivo-redis-");
  const clock = new ManualClock(new Date());
  const contract = await loadContract();
  const failOpen = outage && { onResponse: contractObserver(contract, (problems) => t.fail(`response breaks openapi.yaml:\n${problems.join("\n")}`), false) };
  const opts = (logs?: NodeJS.WritableStream) => ({
    dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    env: { REDIS_URL: url, ...(logs ? { LOG_LEVEL: "info" } : {}) },
    overrides: { database, clock, tickIntervalMs: 0, rateLimits: LIMITS, ...failOpen, ...(logs ? { logStream: logs } : {}) },
  });
  const { app: a } = await testApp(t, opts(outage?.logStream));
  const { app: b } = await testApp(t, opts());
  await a.listen({ port: 0, host: "127.0.0.1" });
  await b.listen({ port: 0, host: "127.0.0.1" });
  return { a, b, clock };
}

/** A call started on A and joined on B; the guest connects to A, the host to B; both see it active. */
async function crossCall(t: Test, a: FastifyInstance, b: FastifyInstance) {
  const host = await makeUser(a, "host", "Hal");
  const link = await createLink(a, host, { rate_per_minute: "2.00", window_size_minutes: 10 });
  const guest = await makeGuest(a);
  const started = await startCall(a, guest, link.short_code);
  const joined = await join(b, host, started.call.id);
  const g = await connect(a, started.signaling_token);
  t.match(await g.next("welcome"), { call_id: started.call.id, role: "guest", peer_present: false });
  const h = await connect(b, joined.signaling_token);
  t.match(await h.next("welcome"), { call_id: started.call.id, role: "host", peer_present: true });
  t.same(await g.next("peer_joined"), { type: "peer_joined", role: "host" }, "the guest on A hears of the host on B");
  await nextWhere(g, "call_state", (f) => f.status === "active");
  await nextWhere(h, "call_state", (f) => f.status === "active");
  return { host, guest, id: started.call.id, g, h };
}

const readyStatus = async (app: FastifyInstance) => (await app.inject({ method: "GET", url: "/ready" })).statusCode;
const limitHeaders = (res: { headers: Record<string, unknown> }) => Object.keys(res.headers).filter((h) => h.startsWith("x-ratelimit") || h === "retry-after");

t.test("two instances share one login budget in Redis", { skip: TEST_REDIS_URL ? false : NO_REDIS }, async (t) => {
  const { a, b, clock } = await twoInstances(t, TEST_REDIS_URL!);
  const ip = randomIp();
  const resetAt = Math.floor(clock.now() / 1000) + 15 * 60;
  const nearReset = (v: unknown) => Math.abs(Number(v) - resetAt) <= 2;
  for (let i = 1; i <= 5; i++) {
    const res = await login(a, ip);
    t.equal(res.statusCode, 401, `attempt ${i} on A`);
    t.equal(res.headers["x-ratelimit-limit"], "5");
    t.equal(res.headers["x-ratelimit-remaining"], String(5 - i));
    t.ok(nearReset(res.headers["x-ratelimit-reset"]), "X-RateLimit-Reset is the window's end, a unix timestamp");
  }
  const sixth = await login(b, ip);
  t.equal(sixth.statusCode, 429, "the 6th login, on B, is refused");
  t.same(sixth.json(), RATE_LIMITED);
  t.equal(sixth.headers["x-ratelimit-limit"], "5");
  t.equal(sixth.headers["x-ratelimit-remaining"], "0");
  t.ok(nearReset(sixth.headers["x-ratelimit-reset"]));
  t.ok(Math.abs(Number(sixth.headers["retry-after"]) - 15 * 60) <= 2, "Retry-After: the rest of the 15-minute window");
  const vapp = await b.inject({ method: "POST", url: "/login", remoteAddress: ip, headers: json, payload: { name: "x", password: "wrong password" } });
  t.equal(vapp.statusCode, 429, "the V-app /login on B draws on the same budget");
  t.equal((await login(b, randomIp())).statusCode, 401, "another IP has its own budget");

  // The window is the key's TTL in Redis (namespaced), set once at the window's first hit.
  const redis = new Redis(TEST_REDIS_URL!);
  t.teardown(() => redis.quit());
  const key = `vidivo:rl:login:ip:${ip}`;
  t.equal(await redis.get(key), "7", "one counter for both instances");
  const ttl = await redis.pttl(key);
  t.ok(ttl > 14 * 60_000 && ttl <= 15 * 60_000, `the window expires with the key (PTTL ${ttl} ms)`);

  const ready = await a.inject({ method: "GET", url: "/ready" });
  t.same([ready.statusCode, ready.json()], [200, { status: "ok", checks: { database: "ok", redis: "ok", load: "ok" } }]);
});

t.test("signaling across instances over Redis pub/sub", { skip: TEST_REDIS_URL ? false : NO_REDIS }, async (t) => {
  const { a, b, clock } = await twoInstances(t, TEST_REDIS_URL!);
  const { host, guest, id, g, h } = await crossCall(t, a, b);
  const gb = await g.next("billing");
  t.match(gb, { window: 1, held_until: new Date(clock.now() + 10 * 60_000).toISOString() });
  t.same(await h.next("billing"), gb, "both see the same billing window");
  t.equal(a.services.signaling.size, 1, "A holds the guest's socket");
  t.equal(b.services.signaling.size, 1, "B holds the host's socket");

  g.send({ type: "offer", sdp: "v=0 offer" });
  t.same(await h.next("offer"), { type: "offer", sdp: "v=0 offer", from: "guest" });
  h.send({ type: "answer", sdp: "v=0 answer" });
  t.same(await g.next("answer"), { type: "answer", sdp: "v=0 answer", from: "host" });
  const candidate = { candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", sdpMid: "0", sdpMLineIndex: 0 };
  // In order, as sent: Redis keeps one publisher's order.
  for (let i = 0; i < 20; i++) g.send({ type: "ice_candidate", candidate: { ...candidate, sdpMLineIndex: i } });
  for (let i = 0; i < 20; i++) t.same(await h.next("ice_candidate"), { type: "ice_candidate", candidate: { ...candidate, sdpMLineIndex: i }, from: "guest" });
  h.send({ type: "ice_candidate", candidate: { ...candidate, sdpMid: "1" } });
  t.same(await g.next("ice_candidate"), { type: "ice_candidate", candidate: { ...candidate, sdpMid: "1" }, from: "host" });
  t.equal(g.frames.filter((f) => f.type === "offer").length, 0, "nothing is echoed to the sender");

  // The guest opens a newer connection on B: the older one, on A, is replaced (4009).
  const tok = await b.inject({ method: "POST", url: `/v1/calls/${id}/signaling-token`, headers: bearer(guest.token) });
  t.equal(tok.statusCode, 201);
  const g2 = await connect(b, tok.json().signaling_token);
  t.match(await g2.next("welcome"), { role: "guest", peer_present: true });
  t.equal((await g.closed).code, 4009, "the guest's older socket on A is replaced");
  g2.send({ type: "ice_restart" });
  t.same(await h.next("ice_restart"), { type: "ice_restart", from: "guest" });

  // Ended through A: both sockets, now on B, hear it and close 4010.
  const end = await a.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer(host.token) });
  t.equal(end.statusCode, 200);
  t.same(await g2.next("call_ended"), { type: "call_ended", reason: "host_ended" });
  t.same(await h.next("call_ended"), { type: "call_ended", reason: "host_ended" });
  t.equal((await g2.closed).code, 4010);
  t.equal((await h.closed).code, 4010);
});

t.test("the Redis pub/sub adapter: order, throwing handlers, unsubscribe", { skip: TEST_REDIS_URL ? false : NO_REDIS }, async (t) => {
  const [pub, sub] = [new Redis(TEST_REDIS_URL!), new Redis(TEST_REDIS_URL!)];
  t.teardown(() => Promise.all([pub.quit(), sub.quit()]));
  const errors: unknown[] = [];
  const prefix = `vidivo-test:${randomIp()}:`;
  const ps = new RedisPubSub(pub, sub, { error: (o) => errors.push(o), warn: () => {} }, prefix);
  const got: string[] = [];
  const endThrowing = await ps.subscribe("c", () => {
    throw new Error("handler bug");
  });
  const endA = await ps.subscribe("c", (m) => got.push(`a${m}`));
  for (let i = 0; i < 50; i++) await ps.publish("c", String(i));
  await until("50 messages", async () => got.length === 50);
  t.same(got, [...Array(50).keys()].map((i) => `a${i}`), "in publish order, despite a handler that throws");
  t.equal(errors.length, 50, "each handler error is logged");
  await endThrowing();
  await endA();
  await ps.publish("c", "late");
  t.same(await pub.pubsub("NUMSUB", `${prefix}c`), [`${prefix}c`, 0], "unsubscribed once the last handler ended");
  await new Promise((r) => setTimeout(r, 100));
  t.equal(got.length, 50, "nothing after the last handler ended");
  await ps.close();
});

t.test("Redis stopped for a while: fail open, /ready 503, relay resumes", { skip: NO_REDIS_SERVER }, async (t) => {
  const redis = await ownRedis(t);
  const logs = captureLogs();
  const { a, b, clock } = await twoInstances(t, redis.url, { logStream: logs.logStream });
  const { id, g, h } = await crossCall(t, a, b);
  g.send({ type: "offer", sdp: "before" });
  t.same(await h.next("offer"), { type: "offer", sdp: "before", from: "guest" });
  const ip = randomIp();
  t.equal((await login(a, ip)).headers["x-ratelimit-remaining"], "4", "limits are enforced while Redis is up");
  const warnings = () => logs.lines.filter((l) => JSON.parse(l).msg === FAIL_OPEN);

  await redis.kill();
  await until("/ready to answer 503", async () => (await readyStatus(a)) === 503);
  const ready = await a.inject({ method: "GET", url: "/ready" });
  t.same(ready.json(), { status: "unavailable", checks: { database: "ok", redis: "failed", load: "ok" } }, "/ready names Redis");
  t.equal(await readyStatus(b), 503);
  for (let i = 1; i <= 8; i++) {
    const res = await login(i % 2 ? a : b, ip);
    t.equal(res.statusCode, 401, `login ${i}: answered, not limited and not a 5xx`);
    t.same(limitHeaders(res), [], "no rate-limit headers while the limits are not enforced");
  }
  const me = await b.inject({ method: "GET", url: "/v1/users/me", headers: bearer((await makeUser(a, "user")).token) });
  t.equal(me.statusCode, 200, "an authenticated request is served");
  t.same(limitHeaders(me), []);
  t.equal(warnings().length, 1, "one warning for the outage (at most one a minute)");
  t.match(JSON.parse(warnings()[0]!), { level: 40 });
  g.send({ type: "offer", sdp: "during" });
  t.match(await g.next("error"), { code: "internal_error", message: "the frame could not be relayed" }, "a frame that cannot be relayed is reported to its sender");
  t.equal(a.services.signaling.size, 1, "the sockets stay open");

  await redis.restart();
  await until("/ready to answer 200 on both", async () => (await readyStatus(a)) === 200 && (await readyStatus(b)) === 200);
  // Both subscribers are back on the call's channel (ioredis resubscribes by itself).
  const probe = new Redis(redis.url);
  t.teardown(() => probe.quit());
  await until("both instances to resubscribe", async () => {
    const [, n] = (await probe.pubsub("NUMSUB", `vidivo:ps:call:${fromUlid(id)}`)) as [string, number];
    return Number(n) === 2;
  });
  g.send({ type: "offer", sdp: "after" });
  t.same(await h.next("offer"), { type: "offer", sdp: "after", from: "guest" }, "relay resumes by itself");
  t.notOk(h.frames.some((f) => f.sdp === "during"), "the frame refused during the outage is not delivered later");
  const back = await login(a, ip);
  t.equal(back.headers["x-ratelimit-remaining"], "4", "limits are enforced again (the new Redis started empty)");
  t.ok(logs.lines.some((l) => JSON.parse(l).msg === "rate limits are enforced again"));

  // A Redis that hangs (SIGSTOP) rather than drops: answers within the command timeout, unlimited.
  clock.advance(60_000);
  redis.pause();
  const started = Date.now();
  const hung = await login(a, ip);
  const elapsed = Date.now() - started;
  t.equal(await readyStatus(a), 503, "/ready: a PING unanswered within the timeout");
  redis.resume();
  t.equal(hung.statusCode, 401);
  t.same(limitHeaders(hung), []);
  t.ok(elapsed < 3000, `answered in ${elapsed} ms`);
  t.equal(warnings().length, 2, "a minute later, the next failure warns again");
  await until("/ready to answer 200 again", async () => (await readyStatus(a)) === 200);
});
