// Signaling (docs/signaling.md): tokens refused before the upgrade, frame and rate limits,
// reconnects within the grace period, connection_lost billed to the disconnect, replacement,
// liveness, message validation.
import t from "tap";
import WebSocket from "ws";
import { testApp } from "../helpers/app.ts";
import { Client, activeCall as activeCallOn, advance, bearer, connect, createLink, getCall, makeGuest, makeUser, refusedStatus, startCall, wsUrl } from "../helpers/calls.ts";

const MIN = 60_000;

t.test("signaling", async (t) => {
  const { app, clock } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(app, "host", "Hal");
  const link = await createLink(app, host, { rate_per_minute: "2.50", window_size_minutes: 10 });

  const activeCall = () => activeCallOn(app, host, link.short_code);

  await t.test("tokens are checked before the upgrade: 401 and no socket", async (t) => {
    const guest = await makeGuest(app);
    const a = await startCall(app, guest, link.short_code);
    const b = await startCall(app, await makeGuest(app), link.short_code);
    const first = await connect(app, a.signaling_token);
    await first.next("welcome");
    const size = app.services.signaling.size;
    t.equal(await refusedStatus(app, a.signaling_token), 401, "a second use");
    t.equal(await refusedStatus(app, b.signaling_token, `&call_id=${a.call.id}`), 401, "another call's token");
    t.equal(await refusedStatus(app, guest.token), 401, "not a signaling token (a participant's guest token)");
    const stranger = await makeUser(app, "host", "Stranger");
    t.equal(await refusedStatus(app, stranger.token), 401, "a non-participant's access token");
    const notMine = await app.inject({ method: "POST", url: `/v1/calls/${a.call.id}/signaling-token`, headers: bearer(stranger.token) });
    t.equal(notMine.statusCode, 404, "a non-participant gets no signaling token");
    t.equal(await refusedStatus(app, "st_" + "A".repeat(43)), 401, "an unknown token");
    t.equal(await refusedStatus(app, ""), 401, "no token");
    const fresh = await app.inject({ method: "POST", url: `/v1/calls/${a.call.id}/signaling-token`, headers: bearer(guest.token) });
    t.equal(fresh.statusCode, 201);
    clock.advance(5 * MIN + 1);
    t.equal(await refusedStatus(app, fresh.json().signaling_token), 401, "an expired token");
    t.equal(app.services.signaling.size, size, "nothing was upgraded");
    const plain = await app.inject({ method: "GET", url: `/ws?token=${a.signaling_token}` });
    t.equal(plain.statusCode, 400, "a request that is not an upgrade");
    await first.close();
  });

  await t.test("frames: validated, relayed with from, oversized → 4008", async (t) => {
    const { g, h } = await activeCall();
    g.send("not json");
    t.match(await g.next("error"), { code: "invalid_message" });
    g.send({ type: "offer" });
    t.match(await g.next("error"), { code: "invalid_message", message: /offer/ });
    g.send({ type: "offer", sdp: "x", extra: 1 });
    t.match(await g.next("error"), { code: "invalid_message" });
    g.send({ type: "ice_restart" });
    t.same(await h.next("ice_restart"), { type: "ice_restart", from: "guest" });
    t.equal(h.frames.filter((f) => f.type === "offer").length, 0, "invalid frames are not relayed");
    g.send(JSON.stringify({ type: "offer", sdp: "a".repeat(64 * 1024 + 10) }));
    const closed = await g.closed;
    t.equal(closed.code, 4008, "an oversized frame closes 4008");
  });

  await t.test("more than 50 messages in a second → 4008", async (t) => {
    const { g } = await activeCall();
    for (let i = 0; i < 51; i++) g.send({ type: "ice_restart" });
    t.match(await g.next("error"), { code: "rate_limited" });
    t.equal((await g.closed).code, 4008);
  });

  await t.test("a reconnect within 60 s keeps the call", async (t) => {
    const { guest, id, g, h } = await activeCall();
    await g.close();
    t.match(await h.next("peer_left"), { role: "guest" });
    await advance(app, clock, 45_000);
    const token = await app.inject({ method: "POST", url: `/v1/calls/${id}/signaling-token`, headers: bearer(guest.token) });
    const again = await connect(app, token.json().signaling_token);
    t.match(await again.next("welcome"), { role: "guest", peer_present: true });
    t.match(await again.next("call_state"), { status: "active" });
    t.match(await h.next("peer_joined"), { role: "guest" });
    await advance(app, clock, 30_000);
    t.equal((await getCall(app, guest, id)).status, "active", "past the first deadline, still active");
    again.send({ type: "offer", sdp: "v=0" });
    t.same(await h.next("offer"), { type: "offer", sdp: "v=0", from: "guest" });
    await app.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer(guest.token) });
  });

  await t.test("after 60 s the call ends connection_lost, billed to the moment of the disconnect", async (t) => {
    const { guest, id, g, h } = await activeCall();
    const startedAt = clock.now();
    await advance(app, clock, 3 * MIN + 10_000);
    g.ws.terminate(); // the guest's network goes away at 3 m 10 s
    t.match(await h.next("peer_left"), { role: "guest" });
    await advance(app, clock, 59_000);
    t.equal((await getCall(app, guest, id)).status, "active", "within the grace period");
    await advance(app, clock, 1_000);
    t.match(await h.next("call_ended"), { reason: "connection_lost" });
    t.equal((await h.closed).code, 4010);
    const call = await getCall(app, guest, id);
    t.match(call, {
      status: "completed",
      end_reason: "connection_lost",
      ended_at: new Date(startedAt + 3 * MIN + 10_000).toISOString(),
      duration_seconds: 190,
      amount_charged: "10.00", // ceil(3 m 10 s) = 4 minutes × 2.50
    });
  });

  await t.test("a newer connection of the same participant replaces the older (4009)", async (t) => {
    const { guest, id, g, h } = await activeCall();
    const token = await app.inject({ method: "POST", url: `/v1/calls/${id}/signaling-token`, headers: bearer(guest.token) });
    const newer = await connect(app, token.json().signaling_token);
    t.equal((await g.closed).code, 4009);
    t.match(await newer.next("welcome"), { peer_present: true });
    newer.send({ type: "answer", sdp: "v=1" });
    t.same(await h.next("answer"), { type: "answer", sdp: "v=1", from: "guest" });
    t.equal(h.frames.filter((f) => f.type === "peer_left").length, 0, "a replacement is not a departure");
    await app.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer(guest.token) });
  });

  await t.test("liveness: a ping every 30 s; no pong within 10 s drops the peer", async (t) => {
    const { guest, id, h } = await activeCall();
    const token = await app.inject({ method: "POST", url: `/v1/calls/${id}/signaling-token`, headers: bearer(guest.token) });
    // A client that never answers pings (replaces the well-behaved one).
    const mute = await new Promise<Client>((resolve, reject) => {
      const ws = new WebSocket(wsUrl(app, token.json().signaling_token), { autoPong: false });
      const c = new Client(ws);
      ws.once("open", () => resolve(c));
      ws.once("error", reject);
    });
    await mute.next("welcome");
    let pings = 0;
    h.ws.on("ping", () => pings++);
    clock.advance(30_000);
    app.services.signaling.sweep();
    await new Promise((r) => setTimeout(r, 50)); // real I/O: the ping travels, the well-behaved client answers
    clock.advance(10_000);
    app.services.signaling.sweep();
    t.equal(pings, 1, "pinged");
    t.equal((await mute.closed).code, 1006, "the silent peer is dropped");
    t.match(await h.next("peer_left"), { role: "guest" });
    t.equal(h.ws.readyState, WebSocket.OPEN, "the answering peer stays");
    await app.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer(guest.token) });
  });
});
