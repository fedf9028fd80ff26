// The whole paid call through real HTTP and two real WebSocket clients; declines at initiate and at
// the second hold; the host who never comes. The same suite runs on both payment providers (Stripe
// through the official SDK and the local Stripe server).
import t from "tap";
import { appOn, PROVIDERS } from "../helpers/stripe-app.ts";
import { fromUlid } from "../../src/domain/ids.ts";
import { mailToken } from "../helpers/v1.ts";
import { advance, connect, createLink, getCall, initiate, join, makeGuest, makeUser, startCall } from "../helpers/calls.ts";

const MIN = 60_000;

for (const provider of PROVIDERS) t.test(`${provider}: a paid call end to end: 23 m 30 s at $3.00/min in 10-minute windows`, async (t) => {
  const { app, clock, dataDir, onboard, intents } = await appOn(t, provider, { overrides: { tickIntervalMs: 0 } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const call = async (method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
  };

  // The host registers, verifies the e-mail and is promoted by an admin.
  const email = "hana@example.test";
  const reg = await call("POST", "/v1/auth/register", { body: { email, password: "correct horse battery", display_name: "Hana Host" } });
  t.equal(reg.status, 201, reg.text);
  const verifyToken = await mailToken(app, dataDir, email, /confirm/i);
  t.equal((await call("POST", "/v1/auth/verify-email", { body: { token: verifyToken } })).status, 200);
  const admin = await makeUser(app, "admin", "Ada Admin");
  const promoted = await call("POST", `/v1/admin/users/${reg.json.user.id}/role`, { token: admin.token, body: { role: "host" } });
  t.equal(promoted.status, 200, promoted.text);
  const hostToken = async () => {
    const r = await call("POST", "/v1/auth/login", { body: { email, password: "correct horse battery" } });
    t.equal(r.json.user.role, "host");
    return r.json.access_token as string;
  };

  await onboard({ id: fromUlid(reg.json.user.id)!, token: await hostToken() });
  const linkRes = await call("POST", "/v1/links", { token: await hostToken(), body: { rate_per_minute: "3.00", window_size_minutes: 10, label: "Coaching" } });
  t.equal(linkRes.status, 201, linkRes.text);
  const link = linkRes.json.link;

  const resolved = await call("GET", `/v1/links/resolve/${link.short_code}`);
  t.match(resolved.json, { host: { id: reg.json.user.id, display_name: "Hana Host" }, rate_per_minute: "3.00", available: true, unavailable_reason: null });

  // The guest takes a guest token and initiates with an idempotency key; a replay is identical.
  const guestRes = await call("POST", "/v1/auth/guest", { body: { display_name: "Gus Guest" } });
  t.equal(guestRes.status, 201, guestRes.text);
  const guestToken = guestRes.json.guest_token as string;
  const key = "0f6e3a2c-8a1b-4c3d-9e8f-123456789abc";
  const body = { short_code: link.short_code, payment_method_id: "pm_card_visa" };
  const first = await call("POST", "/v1/calls/initiate", { token: guestToken, body, headers: { "x-idempotency-key": key } });
  t.equal(first.status, 201, first.text);
  const replay = await call("POST", "/v1/calls/initiate", { token: guestToken, body, headers: { "x-idempotency-key": key } });
  t.equal(replay.status, 201);
  const session = (r: { json: any }) => ({ ...r.json, signaling_token: "…", turn_credentials: "…" });
  t.same(session(replay), session(first), "the replay is the first response (with a fresh signaling token: see idempotency.test.ts)");
  const reused = await call("POST", "/v1/calls/initiate", { token: guestToken, body: { ...body, payment_method_id: "pm_card_mastercard" }, headers: { "x-idempotency-key": key } });
  t.equal(reused.status, 409);
  t.equal(reused.json.error.code, "idempotency_key_reused");
  t.equal((await intents()).length, 1, "one hold at the provider");
  t.equal(await app.db.call.count(), 1, "one call");
  t.equal((await app.db.callLink.findFirstOrThrow()).useCount, 1, "one use counted");

  const callId = first.json.call.id as string;
  t.match(first.json.call, { status: "waiting", short_code: link.short_code, host: { display_name: "Hana Host" }, guest: { display_name: "Gus Guest" }, rate_per_minute: "3.00", window_size_minutes: 10 });
  t.match(first.json.turn_credentials.username, new RegExp(`^\\d+:${callId}$`));

  const joined = await call("POST", `/v1/calls/${callId}/join`, { token: await hostToken() });
  t.equal(joined.status, 200, joined.text);

  const guest = await connect(app, first.json.signaling_token);
  t.match(await guest.next("welcome"), { call_id: callId, role: "guest", peer_present: false });
  t.match(await guest.next("call_state"), { status: "waiting" });
  const host = await connect(app, joined.json.signaling_token);
  t.match(await host.next("welcome"), { call_id: callId, role: "host", peer_present: true });
  t.match(await guest.next("peer_joined"), { role: "host" });
  t.match(await host.next("peer_joined"), { role: "guest" });
  t.match(await guest.next("call_state"), { status: "active" });
  const startedAt = clock.now();
  t.same(await host.next("billing"), { type: "billing", window: 1, status: "held", held_until: new Date(startedAt + 10 * MIN).toISOString() });
  t.same(await guest.next("billing"), { type: "billing", window: 1, status: "held", held_until: new Date(startedAt + 10 * MIN).toISOString() });

  guest.send({ type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" });
  t.same(await host.next("offer"), { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n", from: "guest" });
  host.send({ type: "answer", sdp: "v=0 answer" });
  t.same(await guest.next("answer"), { type: "answer", sdp: "v=0 answer", from: "host" });
  const cand = { candidate: "candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host", sdpMid: "0", sdpMLineIndex: 0 };
  guest.send({ type: "ice_candidate", candidate: cand });
  host.send({ type: "ice_candidate", candidate: { ...cand, sdpMid: "1" } });
  t.same(await host.next("ice_candidate"), { type: "ice_candidate", candidate: cand, from: "guest" });
  t.same(await guest.next("ice_candidate"), { type: "ice_candidate", candidate: { ...cand, sdpMid: "1" }, from: "host" });

  // The clock moves 23 m 30 s; the engine places each next hold a minute early and captures each window.
  await advance(app, clock, 9 * MIN);
  t.same(await guest.next("billing"), { type: "billing", window: 2, status: "held", held_until: new Date(startedAt + 20 * MIN).toISOString() });
  await advance(app, clock, 1 * MIN);
  await advance(app, clock, 9 * MIN);
  t.same(await guest.next("billing"), { type: "billing", window: 3, status: "held", held_until: new Date(startedAt + 30 * MIN).toISOString() });
  await advance(app, clock, 1 * MIN);
  await advance(app, clock, 3.5 * MIN);

  const endKey = "7d1c1b7e-0000-4000-8000-00000000e0d1";
  const ended = await call("POST", `/v1/calls/${callId}/end`, { token: guestToken, headers: { "x-idempotency-key": endKey } });
  t.equal(ended.status, 200, ended.text);
  t.match(ended.json.call, {
    status: "completed",
    end_reason: "guest_ended",
    amount_charged: "72.00",
    duration_seconds: 1410,
    started_at: new Date(startedAt).toISOString(),
    ended_at: new Date(startedAt + 23.5 * MIN).toISOString(),
  });
  t.match(await guest.next("call_ended"), { reason: "guest_ended" });
  t.match(await host.next("call_ended"), { reason: "guest_ended" });
  t.equal((await guest.closed).code, 4010);
  t.equal((await host.closed).code, 4010);
  const again = await call("POST", `/v1/calls/${callId}/end`, { token: guestToken });
  t.equal(again.status, 200, "ending twice is not an error");
  t.equal(again.json.call.amount_charged, "72.00");

  const captures = await app.db.capture.findMany({ orderBy: { windowIndex: "asc" } });
  t.same(captures.map((c) => c.grossCents), [3000, 3000, 1200], "captures 30.00 + 30.00 + 12.00");
  t.same(captures.map((c) => c.netCents), [2790, 2790, 1116]);
  t.same((await intents()).map((i) => [i.status, i.captured]), [["succeeded", 3000], ["succeeded", 3000], ["succeeded", 1200]], "no hold left open");

  const hostHistory = await call("GET", "/v1/payments/history", { token: await hostToken() });
  t.equal(hostHistory.status, 200);
  const cents = (s: string) => Math.round(Number(s) * 100);
  t.same(hostHistory.json.data.map((e: any) => [e.type, e.window, e.amount, e.fee, e.net]), [
    ["earning", 3, "12.00", "0.84", "11.16"],
    ["earning", 2, "30.00", "2.10", "27.90"],
    ["earning", 1, "30.00", "2.10", "27.90"],
  ]);
  t.equal(hostHistory.json.data.reduce((s: number, e: any) => s + cents(e.net), 0), 6696, "the host earns 66.96");
  const guestHistory = await call("GET", "/v1/payments/history", { token: guestToken });
  t.same(guestHistory.json.data.map((e: any) => [e.type, e.amount, e.fee, e.net]), [["charge", "12.00", null, null], ["charge", "30.00", null, null], ["charge", "30.00", null, null]]);
  t.equal(guestHistory.json.data.reduce((s: number, e: any) => s + cents(e.amount), 0), 7200, "the guest pays 72.00");

  const listed = await call("GET", "/v1/calls?role=host&status=completed", { token: await hostToken() });
  t.same(listed.json.data.map((c: any) => c.id), [callId]);
  const asGuest = await call("GET", "/v1/calls?role=host", { token: guestToken });
  t.same(asGuest.json.data, [], "a guest hosts nothing");
});

for (const provider of PROVIDERS) t.test(`${provider}: declines, the host who never comes, idempotency races`, async (t) => {
  const { app, clock, onboard, intents } = await appOn(t, provider, { overrides: { tickIntervalMs: 0 } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(app, "host", "Hal");
  await onboard(host);
  const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });

  await t.test("a declined card at initiate: 402, no waiting call, no use counted", async (t) => {
    const guest = await makeGuest(app);
    for (const [pm, code] of [["pm_card_chargeDeclined", "generic_decline"], ["pm_card_insufficientFunds", "insufficient_funds"]]) {
      const res = await initiate(app, guest, link.short_code, pm);
      t.equal(res.statusCode, 402);
      t.same(res.json().error.details, { decline_code: code });
      t.equal(res.json().error.code, "payment_declined");
    }
    t.equal(await app.db.call.count({ where: { status: { in: ["pending", "waiting", "active"] } } }), 0, "no waiting call");
    t.equal((await app.db.callLink.findUniqueOrThrow({ where: { shortCode: link.short_code } })).useCount, 0, "no use counted");
    const list = await app.inject({ method: "GET", url: "/v1/calls?status=waiting", headers: { authorization: `Bearer ${guest.token}` } });
    t.same(list.json().data, []);
  });

  await t.test("a card that declines from the second hold: billing_failed at the first boundary, window 1 only", async (t) => {
    const guest = await makeGuest(app);
    const started = await startCall(app, guest, link.short_code, "pm_card_declineAfterFirstHold");
    const joined = await join(app, host, started.call.id);
    const g = await connect(app, started.signaling_token);
    const h = await connect(app, joined.signaling_token);
    await g.next("billing");
    const t0 = clock.now();
    await advance(app, clock, 9 * MIN); // the hold for window 2 is declined
    t.equal((await getCall(app, guest, started.call.id)).status, "active", "the paid window runs to its end");
    await advance(app, clock, 1 * MIN);
    t.match(await g.next("call_ended"), { reason: "billing_failed" });
    t.match(await h.next("call_ended"), { reason: "billing_failed" });
    const c = await getCall(app, guest, started.call.id);
    t.match(c, { status: "failed", end_reason: "billing_failed", amount_charged: "30.00", ended_at: new Date(t0 + 10 * MIN).toISOString(), duration_seconds: 600 });
    const caps = await app.db.capture.findMany({ where: { callId: (await app.db.call.findFirstOrThrow({ where: { endReason: "billing_failed" } })).id } });
    t.same(caps.map((x) => [x.windowIndex, x.grossCents]), [[1, 3000]], "captured for window 1 only");
  });

  await t.test("a host who does not join within 5 minutes: cancelled, hold released, nothing captured", async (t) => {
    const guest = await makeGuest(app);
    const started = await startCall(app, guest, link.short_code);
    const g = await connect(app, started.signaling_token);
    await g.next("welcome");
    await advance(app, clock, 4 * MIN + 59_000);
    t.equal((await getCall(app, guest, started.call.id)).status, "waiting");
    await advance(app, clock, 1000);
    t.match(await g.next("call_ended"), { reason: "host_no_show" });
    t.equal((await g.closed).code, 4010);
    const c = await getCall(app, guest, started.call.id);
    t.match(c, { status: "cancelled", end_reason: "host_no_show", amount_charged: "0.00", started_at: null });
    const row = await app.db.call.findFirstOrThrow({ where: { endReason: "host_no_show" } });
    const intent = (await intents()).find((i) => i.reference === row.id);
    t.same([intent?.status, intent?.captured], ["canceled", 0], "the hold is released");
    t.equal(await app.db.capture.count({ where: { callId: row.id } }), 0);
    const late = await app.inject({ method: "POST", url: `/v1/calls/${started.call.id}/join`, headers: { authorization: `Bearer ${host.token}` } });
    t.equal(late.statusCode, 409);
    t.equal(late.json().error.code, "call_not_active");
  });

  await t.test("a guest who leaves before the host comes cancels and is not charged", async (t) => {
    const guest = await makeGuest(app);
    const started = await startCall(app, guest, link.short_code);
    const res = await app.inject({ method: "POST", url: `/v1/calls/${started.call.id}/end`, headers: { authorization: `Bearer ${guest.token}` } });
    t.match(res.json().call, { status: "cancelled", end_reason: "guest_cancelled", amount_charged: "0.00" });
  });

  await t.test("concurrent duplicates with one key: one call, one hold, identical answers", async (t) => {
    const guest = await makeGuest(app);
    const before = (await intents()).length;
    const key = "5b9f0c1e-3d2a-4b6c-8e7f-0a1b2c3d4e5f";
    const results = await Promise.all([1, 2, 3].map(() => initiate(app, guest, link.short_code, "pm_card_visa", { "x-idempotency-key": key })));
    const ok = results.filter((r) => r.statusCode === 201);
    t.ok(ok.length >= 1);
    for (const r of results) t.ok(r.statusCode === 201 || (r.statusCode === 409 && r.json().error.code === "conflict"), `status ${r.statusCode}`);
    t.equal(new Set(ok.map((r) => r.json().call.id)).size, 1, "every success is the same call");
    t.equal((await intents()).length - before, 1, "one hold");
    // The same key by another caller is another request.
    const other = await makeGuest(app);
    t.equal((await initiate(app, other, link.short_code, "pm_card_visa", { "x-idempotency-key": key })).statusCode, 201);
    const bad = await initiate(app, other, link.short_code, "pm_card_visa", { "x-idempotency-key": "not-a-uuid" });
    t.equal(bad.statusCode, 400);
  });

  await t.test("a host cannot call their own link; the link's rules are enforced", async (t) => {
    const own = await initiate(app, host, link.short_code);
    t.equal(own.statusCode, 403);
    const limited = await createLink(app, host, { max_uses: 1 });
    const g1 = await makeGuest(app);
    t.equal((await initiate(app, g1, limited.short_code)).statusCode, 201);
    const second = await initiate(app, g1, limited.short_code);
    t.equal(second.statusCode, 410);
    t.same(second.json().error.details, { reason: "uses_exhausted" });
    const unknown = await initiate(app, g1, "NoSuchCode1");
    t.equal(unknown.statusCode, 404);
    t.equal(unknown.json().error.code, "link_not_found");
  });
});
