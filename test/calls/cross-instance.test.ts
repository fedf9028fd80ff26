// Signaling across several instances (docs/signaling.md): two participants connected to different
// instances still reach each other. Two apps share one database, one pub/sub and one clock; the
// guest connects to A, the host to B.
import t, { type Test } from "tap";
import WebSocket from "ws";
import { MemoryPubSub } from "../../src/adapters/pubsub/memory.ts";
import { ManualClock } from "../../src/domain/ports/clock.ts";
import { sharedDatabase, testApp } from "../helpers/app.ts";
import { bearer, connect, createLink, getCall, join, makeGuest, makeUser, nextWhere, startCall } from "../helpers/calls.ts";

/** The next frame of `type` that matches `pred` (earlier non-matching frames of that type are skipped). */
t.test("two participants on different instances reach each other", async (t) => {
  const { database, dataDir, databaseUrl } = await sharedDatabase(t, "vidivo-cross-");
  const pubsub = new MemoryPubSub();
  const clock = new ManualClock(new Date());
  const opts = { dataDir, ...(databaseUrl ? { databaseUrl } : {}), overrides: { database, pubsub, clock, tickIntervalMs: 0 } };
  const { app: a } = await testApp(t, opts);
  const { app: b } = await testApp(t, opts);
  await a.listen({ port: 0, host: "127.0.0.1" });
  await b.listen({ port: 0, host: "127.0.0.1" });

  const host = await makeUser(a, "host", "Hal");
  const link = await createLink(a, host, { rate_per_minute: "2.00", window_size_minutes: 10 });

  /** A call started on A and joined on B; the guest connects to A, then the host to B. */
  async function crossCall(t: Test) {
    const guest = await makeGuest(a);
    const started = await startCall(a, guest, link.short_code);
    const joined = await join(b, host, started.call.id);
    const g = await connect(a, started.signaling_token);
    t.match(await g.next("welcome"), { call_id: started.call.id, role: "guest", peer_present: false });
    const h = await connect(b, joined.signaling_token);
    return { guest, id: started.call.id, g, h };
  }

  await t.test("presence, call state, billing and relay cross instances", async (t) => {
    const { guest, id, g, h } = await crossCall(t);
    t.match(await h.next("welcome"), { call_id: id, role: "host", peer_present: true });
    t.same(await h.next("peer_joined"), { type: "peer_joined", role: "guest" });
    t.same(await g.next("peer_joined"), { type: "peer_joined", role: "host" }, "the guest on A hears of the host on B");
    await nextWhere(g, "call_state", (f) => f.status === "active");
    await nextWhere(h, "call_state", (f) => f.status === "active");
    const gb = await g.next("billing");
    const hb = await h.next("billing");
    t.match(gb, { window: 1, held_until: new Date(clock.now() + 10 * 60_000).toISOString() });
    t.same(hb, gb, "both see the same billing window");
    t.equal((await getCall(b, host, id)).status, "active");
    t.equal(a.services.signaling.size, 1, "A holds the guest's socket");
    t.equal(b.services.signaling.size, 1, "B holds the host's socket");

    g.send({ type: "offer", sdp: "v=0 offer" });
    t.same(await h.next("offer"), { type: "offer", sdp: "v=0 offer", from: "guest" });
    h.send({ type: "answer", sdp: "v=0 answer" });
    t.same(await g.next("answer"), { type: "answer", sdp: "v=0 answer", from: "host" });
    const candidate = { candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host", sdpMid: "0", sdpMLineIndex: 0 };
    g.send({ type: "ice_candidate", candidate });
    h.send({ type: "ice_candidate", candidate: { ...candidate, sdpMid: "1" } });
    t.same(await h.next("ice_candidate"), { type: "ice_candidate", candidate, from: "guest" });
    t.same(await g.next("ice_candidate"), { type: "ice_candidate", candidate: { ...candidate, sdpMid: "1" }, from: "host" });
    t.equal(g.frames.filter((f) => f.type === "offer").length, 0, "nothing is echoed to the sender");
    t.equal(h.frames.filter((f) => f.type === "answer").length, 0, "nothing is echoed to the sender");

    // The guest drops off A: the host on B is told; the guest comes back to A with a token from B.
    await g.close();
    t.same(await h.next("peer_left"), { type: "peer_left", role: "guest" });
    const tok = await b.inject({ method: "POST", url: `/v1/calls/${id}/signaling-token`, headers: bearer(guest.token) });
    t.equal(tok.statusCode, 201);
    const g2 = await connect(a, tok.json().signaling_token);
    t.match(await g2.next("welcome"), { role: "guest", peer_present: true });
    t.same(await h.next("peer_joined"), { type: "peer_joined", role: "guest" });
    g2.send({ type: "ice_restart" });
    t.same(await h.next("ice_restart"), { type: "ice_restart", from: "guest" });

    // The host's socket on B closes; the guest on A hears of it.
    await h.close();
    t.same(await g2.next("peer_left"), { type: "peer_left", role: "host" });
    t.equal(b.services.signaling.size, 0);
    await b.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer(guest.token) });
    t.match(await g2.next("call_ended"), { reason: "guest_ended" });
    t.equal((await g2.closed).code, 4010);
  });

  for (const [ender, via] of [["guest", "B"], ["host", "A"]] as const) {
    await t.test(`ended by the ${ender} through instance ${via}: call_ended and 4010 on both`, async (t) => {
      const { guest, id, g, h } = await crossCall(t);
      await nextWhere(g, "call_state", (f) => f.status === "active");
      await nextWhere(h, "call_state", (f) => f.status === "active");
      // The request goes to the instance the ender's own socket is not on.
      const inst = via === "A" ? a : b;
      const res = await inst.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer((ender === "guest" ? guest : host).token) });
      t.equal(res.statusCode, 200);
      t.equal(res.json().call.status, "completed");
      const reason = `${ender}_ended`;
      t.same(await g.next("call_ended"), { type: "call_ended", reason });
      t.same(await h.next("call_ended"), { type: "call_ended", reason });
      t.equal((await g.closed).code, 4010, "the guest's socket on A closes 4010");
      t.equal((await h.closed).code, 4010, "the host's socket on B closes 4010");
      t.equal(g.ws.readyState, WebSocket.CLOSED);
      t.equal(g.frames.filter((f) => f.type === "peer_left").length, 0, "an ended call is not a departure");
      t.equal(h.frames.filter((f) => f.type === "peer_left").length, 0, "an ended call is not a departure");
      t.match(await getCall(via === "A" ? b : a, guest, id), { status: "completed", end_reason: reason }, "the other instance agrees");
    });
  }
});
