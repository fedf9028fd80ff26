// N instances behave as one. Two `npm start` processes (test/helpers/process.ts) on one PostgreSQL
// database, one Redis and one S3-compatible server (s3rver on loopback), with the same settings as
// compose.yaml's two services: REDIS_URL, STORAGE=s3 (S3_* and the AWS credentials), one signing
// key file, one TURN_SECRET, TRUST_PROXY, and one PUBLIC_URL (the load balancer's address: it is
// also the tokens' issuer, so a token from A is accepted by B). Every request goes over HTTP or a
// real WebSocket; the test touches the database only to make the host a host (as the operator's
// `npm run admin -- promote` does) and to read what was held and captured.
// Needs DATABASE_URL (a fresh database on it) and TEST_REDIS_URL; skipped with the reason otherwise.
// Each request carries an X-Forwarded-For address of its own (the instances trust the loopback
// proxy, as behind the load balancer): the Redis counters outlive a run, and per-IP budgets must
// not leak from one run into the next.
import { createHmac, randomBytes } from "node:crypto";
import pg from "pg";
import t, { type Test } from "tap";
import WebSocket from "ws";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { RECONNECT_GRACE_MS } from "../src/domain/billing.ts";
import { fromUlid } from "../src/domain/ids.ts";
import { MEDIA_CACHE_CONTROL } from "../src/domain/ports/storage.ts";
import { freshDatabaseUrl } from "./helpers/app.ts";
import { Client, nextWhere } from "./helpers/calls.ts";
import { EventStream } from "./helpers/events.ts";
import { multipart, png } from "./helpers/images.ts";
import { sharedKeyFile, startServer, type ServerProcess } from "./helpers/process.ts";
import { NO_REDIS, TEST_REDIS_URL } from "./helpers/redis.ts";
import { S3RVER_CREDENTIALS, startS3Server } from "./helpers/s3-server.ts";
import { until } from "./helpers/wait.ts";

const skip = !process.env.DATABASE_URL
  ? "DATABASE_URL is not set: two processes need one PostgreSQL (README, Development)"
  : !TEST_REDIS_URL
    ? NO_REDIS
    : false;

const PASSWORD = "correct horse battery";
const RATE_CENTS = 150;

/** An address no other request of this run, or of an earlier run, uses. */
const randomIp = () => `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 254) + 1).join(".")}`;

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** One HTTP request to a process, as a client behind the load balancer at `ip`. */
async function api(server: ServerProcess, method: string, url: string, opts: { token?: string; body?: unknown; ip?: string; form?: Awaited<ReturnType<typeof multipart>> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { "x-forwarded-for": opts.ip ?? randomIp() };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: Uint8Array | string | undefined;
  if (opts.form) {
    headers["content-type"] = opts.form.headers["content-type"];
    body = new Uint8Array(opts.form.payload);
  } else if (opts.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(`${server.base}${url}`, { method, headers, ...(body ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

async function ok(server: ServerProcess, method: string, url: string, status: number, opts: Parameters<typeof api>[3] = {}) {
  const res = await api(server, method, url, opts);
  if (res.status !== status) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A real WebSocket client on a process's /ws, recording every frame. */
function connectTo(server: ServerProcess, token: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${encodeURIComponent(token)}`);
    const client = new Client(ws);
    ws.once("open", () => resolve(client));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

/** coturn's check of a REST credential (use-auth-secret): base64(HMAC-SHA1(secret, username)). */
const turnValid = (secret: string, c: { username: string; credential: string }) =>
  createHmac("sha1", secret).update(c.username).digest("base64") === c.credential;

t.test("two server processes on one PostgreSQL, one Redis and one S3 server behave as one", { skip }, async (t) => {
  t.setTimeout(150_000);
  const began = Date.now();
  const databaseUrl = (await freshDatabaseUrl(t))!;
  const s3 = await startS3Server();
  t.teardown(() => s3.close());
  const turnSecret = randomBytes(24).toString("base64url");
  // What compose.yaml gives both services (there: the MinIO bucket, the load balancer's network).
  const shared = {
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL!,
    JWT_PRIVATE_KEY_FILE: sharedKeyFile(t),
    TURN_SECRET: turnSecret,
    TURN_URLS: "turn:turn.vidivo.test:3478?transport=udp",
    // The proxy's address (here the test itself, on loopback; compose.yaml names its network's
    // ranges). Not a hop count: Fastify 5.12 ignores those (fail closed), and every client would
    // share the proxy's address and budgets.
    TRUST_PROXY: "127.0.0.1",
    PUBLIC_URL: "http://vidivo.test",
    ...s3.env,
    S3_REGION: "us-east-1",
    S3_PUBLIC_URL: s3.publicUrl,
    ...S3RVER_CREDENTIALS,
  };
  // Cold starts in parallel (migrations run once, under PostgreSQL's advisory lock).
  const [a, b] = await Promise.all([
    startServer(t, shared),
    startServer(t, shared),
  ]);
  t.comment(`both processes up in ${Date.now() - began} ms`);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  t.teardown(() => db.end());
  for (const [name, p] of [["A", a], ["B", b]] as const) {
    t.same(await ok(p, "GET", "/ready", 200), { status: "ok", checks: { database: "ok", redis: "ok", load: "ok" } }, `${name} is ready: database and Redis`);
  }

  // A host, registered through A (made host by the operator, as `npm run admin -- promote` does).
  const email = `hal-${randomBytes(4).toString("hex")}@example.test`;
  const registered = await ok(a, "POST", "/v1/auth/register", 201, { body: { email, password: PASSWORD, display_name: "Hal" } });
  await db.query(`UPDATE users SET role = 'host', email_verified_at = now() WHERE email = $1`, [email]);
  const hostToken: string = registered.access_token;
  const { link } = await ok(b, "POST", "/v1/links", 201, { token: hostToken, body: { rate_per_minute: (RATE_CENTS / 100).toFixed(2), window_size_minutes: 1 } });

  await t.test("five logins on A and the sixth on B: 429 (one budget in Redis)", async (t) => {
    const ip = randomIp();
    for (let i = 1; i <= 5; i++) {
      const res = await api(a, "POST", "/v1/auth/login", { ip, body: { email, password: "wrong password" } });
      t.equal(res.status, 401, `attempt ${i} on A`);
      t.equal(res.headers.get("x-ratelimit-remaining"), String(5 - i));
    }
    const sixth = await api(b, "POST", "/v1/auth/login", { ip, body: { email, password: PASSWORD } });
    t.equal(sixth.status, 429, "the sixth, on B, is refused even with the right password");
    t.same(sixth.body, { error: { code: "rate_limited", message: "Too many requests. Try again later.", details: null } });
    t.equal(sixth.headers.get("x-ratelimit-limit"), "5");
    t.equal(sixth.headers.get("x-ratelimit-remaining"), "0");
    t.ok(Number(sixth.headers.get("retry-after")) > 14 * 60, "Retry-After: the rest of the 15-minute window");
    t.equal((await api(b, "POST", "/v1/auth/login", { body: { email, password: PASSWORD } })).status, 200, "another client address logs in on B");
  });

  await t.test("an avatar uploaded through A is served from the S3 URL that B hands out", async (t) => {
    const uploaded = await ok(a, "PUT", "/v1/users/me/avatar", 200, { token: hostToken, form: await multipart([{ name: "avatar", data: png(16, 16), filename: "me.png" }]) });
    const url: string = uploaded.avatar_url;
    t.match(url, new RegExp(`^${s3.publicUrl}/[0-9a-f-]{36}\\.webp$`), "A answers a URL in the bucket");
    const key = url.slice(s3.publicUrl.length + 1);
    t.same(await s3.keys(), [key], "one object in the bucket");
    t.equal((await ok(b, "GET", "/v1/users/me", 200, { token: hostToken })).avatar_url, url, "B hands out the same URL");
    const resolved = await ok(b, "GET", `/v1/links/resolve/${link.short_code}`, 200);
    t.equal(resolved.host.avatar_url, url, "and shows it to a guest resolving the host's link");
    const served = await fetch(url);
    t.equal(served.status, 200, "served by the S3 server, not by an instance");
    t.equal(served.headers.get("content-type"), "image/webp");
    t.equal(served.headers.get("cache-control"), MEDIA_CACHE_CONTROL);
    const stored = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    t.same(Buffer.from(await served.arrayBuffer()), Buffer.from(await stored.Body!.transformToByteArray()), "the object's bytes");
  });

  /** A guest's call on the link: initiated through A, taken through B; guest on A's /ws, host on B's; both see it active. */
  await t.test("the host's live channel on A hears of a guest initiating on B (Redis pub/sub)", async (t) => {
    const stream = await EventStream.connect(a.base, hostToken, { "x-forwarded-for": randomIp() });
    t.teardown(() => stream.abort());
    t.equal(stream.response.status, 200);
    const guest = await ok(b, "POST", "/v1/auth/guest", 201, { body: { display_name: "Remote Guest" } });
    const started = await ok(b, "POST", "/v1/calls/initiate", 201, { token: guest.guest_token, body: { short_code: link.short_code, payment_method_id: "pm_card_visa" } });
    t.match(await stream.notification(1), { type: "call_incoming", data: { call_id: started.call.id, short_code: link.short_code, guest_display_name: "Remote Guest" } });
    const ended = await api(b, "POST", `/v1/calls/${started.call.id}/end`, { token: guest.guest_token });
    t.ok([200, 202].includes(ended.status), `the guest hangs up (${ended.status})`);
  });

  async function crossCall(t: Test) {
    const guest = await ok(a, "POST", "/v1/auth/guest", 201, { body: { display_name: "Gina" } });
    const guestToken: string = guest.guest_token;
    const started = await ok(a, "POST", "/v1/calls/initiate", 201, { token: guestToken, body: { short_code: link.short_code, payment_method_id: "pm_card_visa" } });
    const joined = await ok(b, "POST", `/v1/calls/${started.call.id}/join`, 200, { token: hostToken });
    t.ok(turnValid(turnSecret, started.turn_credentials) && turnValid(turnSecret, joined.turn_credentials), "A's and B's TURN credentials pass coturn's check with the one TURN_SECRET");
    const g = await connectTo(a, started.signaling_token);
    t.match(await g.next("welcome"), { call_id: started.call.id, role: "guest", peer_present: false });
    const h = await connectTo(b, joined.signaling_token);
    t.match(await h.next("welcome"), { call_id: started.call.id, role: "host", peer_present: true });
    t.same(await g.next("peer_joined"), { type: "peer_joined", role: "host" }, "the guest on A hears of the host on B");
    await nextWhere(g, "call_state", (f) => f.status === "active", 10_000);
    await nextWhere(h, "call_state", (f) => f.status === "active", 10_000);
    return { id: started.call.id as string, uuid: fromUlid(started.call.id)!, guestToken, g, h };
  }

  const moneyOf = async (uuid: string) => {
    const q = async (sql: string) => (await db.query(sql, [uuid])).rows;
    return {
      call: (await q(`SELECT status, end_reason, amount_charged_cents, started_at FROM calls WHERE id = $1`))[0],
      windows: await q(`SELECT index, amount_cents, hold_status, hold_ref FROM billing_windows WHERE call_id = $1 ORDER BY index`),
      captures: await q(`SELECT window_index, gross_cents, payment_ref FROM captures WHERE call_id = $1 ORDER BY window_index`),
      intents: await q(`SELECT id, amount_cents, captured_cents, status FROM sim_payment_intents WHERE reference = $1::text ORDER BY created_at, id`),
      // Every request the simulated provider received for this call, replays included.
      requests: await q(`SELECT idempotency_key AS key, replayed FROM sim_payment_requests WHERE idempotency_key LIKE 'call:' || $1 || ':%' ORDER BY idempotency_key, replayed`),
      pending: await q(`SELECT kind FROM call_tasks WHERE call_id = $1 AND status = 'pending'`),
    };
  };

  await t.test("a guest on A and a host on B complete a call; both tickers run, each window is held and captured once", async (t) => {
    const { id, uuid, guestToken, g, h } = await crossCall(t);
    const first = await moneyOf(uuid);
    t.same(first.windows.map((w: any) => [w.index, w.amount_cents, w.hold_status]), [[1, RATE_CENTS, "held"]], "window 1: the hold placed at initiate");
    // Window 2's hold may be on its way to the provider already (it is due at once), so only window 1's is asserted here.
    t.same(
      first.intents.filter((i: any) => i.id === first.windows[0].hold_ref).map((i: any) => [i.amount_cents, i.status]),
      [[RATE_CENTS, "requires_capture"]],
      "window 1: its authorisation at the provider",
    );

    // Billing notices reach both sides: window 1 (held at initiate) and window 2, held by whichever
    // ticker claimed it first (with 1-minute windows the next hold is due at once).
    const billing = async (c: Client) => [await c.next("billing", 10_000), await c.next("billing", 10_000)].sort((x, y) => x.window - y.window);
    const [gb, hb] = [await billing(g), await billing(h)];
    t.match(gb, [{ type: "billing", window: 1, status: "held" }, { type: "billing", window: 2, status: "held" }], "the guest on A: windows 1 and 2 held");
    t.same(hb, gb, "the host on B: the same notices");
    t.equal(new Date(gb[1]!.held_until).getTime() - new Date(gb[0]!.held_until).getTime(), 60_000, "one-minute windows");
    const held = await moneyOf(uuid);
    t.same(
      held.intents.map((i: any) => [i.id, i.amount_cents, i.status]),
      held.windows.map((w: any) => [w.hold_ref, RATE_CENTS, "requires_capture"]),
      "one authorisation at the provider per held window, in order, none twice",
    );

    // Negotiation across instances, in order.
    g.send({ type: "offer", sdp: "v=0 offer from A" });
    t.same(await h.next("offer"), { type: "offer", sdp: "v=0 offer from A", from: "guest" }, "offer: A → B");
    h.send({ type: "answer", sdp: "v=0 answer from B" });
    t.same(await g.next("answer"), { type: "answer", sdp: "v=0 answer from B", from: "host" }, "answer: B → A");
    const candidate = (i: number) => ({ candidate: `candidate:${i} 1 udp 2122260223 192.0.2.${i} 5432${i} typ host`, sdpMid: "0", sdpMLineIndex: 0 });
    for (let i = 1; i <= 5; i++) g.send({ type: "ice_candidate", candidate: candidate(i) });
    for (let i = 6; i <= 8; i++) h.send({ type: "ice_candidate", candidate: candidate(i) });
    for (let i = 1; i <= 5; i++) t.same(await h.next("ice_candidate"), { type: "ice_candidate", candidate: candidate(i), from: "guest" });
    for (let i = 6; i <= 8; i++) t.same(await g.next("ice_candidate"), { type: "ice_candidate", candidate: candidate(i), from: "host" });
    t.notOk([...g.frames, ...h.frames].some((f) => f.type === "error"), "no error frame on either side");

    // Both instances renew their leases (their tickers run) while the call is on.
    const startedAt: Date = first.call.started_at ?? (await moneyOf(uuid)).call.started_at;
    const beating = await until("both instances to beat after the call started", async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM instances WHERE heartbeat_at > $1`, [startedAt]);
      return rows[0].n === 2 ? rows[0].n : null;
    });
    t.equal(beating, 2, "both processes' tickers ran during the call");

    // The guest ends it through A, a few seconds in: one started minute is charged.
    const end = await api(a, "POST", `/v1/calls/${id}/end`, { token: guestToken });
    t.ok(end.status === 200 || end.status === 202, `ended (${end.status})`);
    t.same(await g.next("call_ended", 15_000), { type: "call_ended", reason: "guest_ended" }, "call_ended on A");
    t.same(await h.next("call_ended", 15_000), { type: "call_ended", reason: "guest_ended" }, "call_ended on B");
    t.equal((await g.closed).code, 4010);
    t.equal((await h.closed).code, 4010);
    const call = await until("the call to be settled", async () => {
      const c = (await ok(b, "GET", `/v1/calls/${id}`, 200, { token: hostToken })).call;
      return c.status === "completed" ? c : null;
    });
    t.match(call, { status: "completed", end_reason: "guest_ended", amount_charged: (RATE_CENTS / 100).toFixed(2) }, "B reports the settled call");

    const m = await moneyOf(uuid);
    t.match(m.call, { status: "completed", amount_charged_cents: RATE_CENTS });
    t.same(
      m.windows.map((w: any) => [w.index, w.amount_cents, w.hold_status]),
      [[1, RATE_CENTS, "captured"], [2, RATE_CENTS, "released"]],
      "window 1 captured, window 2 (unused) released",
    );
    t.same(m.captures, [{ window_index: 1, gross_cents: RATE_CENTS, payment_ref: m.windows[0].hold_ref }], "one capture: ceil(minutes used) = 1 × the rate");
    t.same(
      m.intents.map((i: any) => [i.id, i.status, i.captured_cents]).sort(),
      [[m.windows[0].hold_ref, "succeeded", RATE_CENTS], [m.windows[1].hold_ref, "canceled", 0]].sort(),
      "at the provider: window 1's authorisation captured once, window 2's cancelled",
    );
    t.same(
      m.requests,
      [`call:${uuid}:w1:capture`, `call:${uuid}:w1:hold`, `call:${uuid}:w2:hold`, `call:${uuid}:w2:release`].map((key) => ({ key, replayed: false })),
      "each provider request made once, none repeated by the other instance",
    );
    // The notices of the settled call are the tickers' next round (an end does not wait for them).
    await until("the notices of the settled call to be sent", async () =>
      (await moneyOf(uuid)).pending.some((k: any) => k.kind === "notices") ? null : true,
    );
    const told = (await ok(b, "GET", "/v1/notifications", 200, { token: hostToken })).data.filter((n: any) => n.data.call_id === id);
    t.same(told.map((n: any) => n.type).sort(), ["call_ended", "call_incoming", "earning_recorded"], "the host was told of the call, its end and the earning, once each");
    // Kept on purpose by the settlement: each finds its window recorded and does nothing.
    t.same((await moneyOf(uuid)).pending.filter((k: any) => k.kind !== "void_hold"), [], "nothing left on the schedule but the lost-hold checks");
  });

  await t.test("SIGTERM to A mid-call: its participant reconnects to B within the grace and the call goes on", async (t) => {
    const { id, uuid, guestToken, g, h } = await crossCall(t);
    await g.next("billing", 10_000);
    await h.next("billing", 10_000);
    g.send({ type: "offer", sdp: "before" });
    t.same(await h.next("offer"), { type: "offer", sdp: "before", from: "guest" });

    a.child.kill("SIGTERM");
    const closed = await g.closed;
    const droppedAt = Date.now();
    t.equal(closed.code, 1001, "A closes the guest's socket: going away");
    t.same(await h.next("peer_left"), { type: "peer_left", role: "guest" }, "the host on B hears the guest left");
    t.equal(await a.exited, 0, "A exits cleanly");

    const { signaling_token } = await ok(b, "POST", `/v1/calls/${id}/signaling-token`, 201, { token: guestToken });
    const g2 = await connectTo(b, signaling_token);
    t.ok(Date.now() - droppedAt < RECONNECT_GRACE_MS, `reconnected ${Date.now() - droppedAt} ms after the drop, within the ${RECONNECT_GRACE_MS / 1000} s grace`);
    t.match(await g2.next("welcome"), { call_id: id, role: "guest", peer_present: true });
    t.same(await g2.next("call_state"), { type: "call_state", status: "active" }, "the call is still active");
    t.same(await h.next("peer_joined"), { type: "peer_joined", role: "guest" }, "the host hears the guest is back");
    g2.send({ type: "ice_restart" });
    t.same(await h.next("ice_restart"), { type: "ice_restart", from: "guest" }, "a frame gets through, now within B");
    h.send({ type: "offer", sdp: "renegotiated" });
    t.same(await g2.next("offer"), { type: "offer", sdp: "renegotiated", from: "host" });
    t.equal((await ok(b, "GET", `/v1/calls/${id}`, 200, { token: hostToken })).call.status, "active");

    const end = await api(b, "POST", `/v1/calls/${id}/end`, { token: hostToken });
    t.ok(end.status === 200 || end.status === 202, `ended through B (${end.status})`);
    t.same(await g2.next("call_ended", 15_000), { type: "call_ended", reason: "host_ended" });
    t.same(await h.next("call_ended", 15_000), { type: "call_ended", reason: "host_ended" });
    const m = await until("the call to be settled", async () => {
      const money = await moneyOf(uuid);
      return money.call.status === "completed" ? money : null;
    });
    t.match(m.call, { end_reason: "host_ended", amount_charged_cents: RATE_CENTS }, "one started minute charged");
    t.same(m.captures.map((c: any) => [c.window_index, c.gross_cents]), [[1, RATE_CENTS]]);
    t.notOk(m.windows.some((w: any) => w.hold_status === "held"), "no hold left open");
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM instances`);
    t.equal(rows[0].n, 1, "A gave up its lease when it stopped; only B's is left");
  });

  t.comment(`the file's processes ran for ${Date.now() - began} ms`);
});
