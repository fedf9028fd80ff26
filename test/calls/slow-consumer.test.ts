// Slow consumers (docs/limits.md, "Signaling connections"): a participant that stops reading while
// its peer keeps sending is dropped once the server's unsent data for it passes MAX_BUFFERED_BYTES;
// the sender stays connected and the dropped participant may reconnect.
import { randomBytes } from "node:crypto";
import t from "tap";
import WebSocket from "ws";
import { MAX_BUFFERED_BYTES, MAX_MESSAGES_PER_SECOND } from "../../src/domain/signaling.ts";
import { testApp } from "../helpers/app.ts";
import { activeCall, bearer, connect, createLink, makeUser } from "../helpers/calls.ts";

const BUDGET_BYTES = 64 * 1024 * 1024; // the most the guest sends before the test gives up
const PER_SECOND = 40; // offers per clock second, below the rate limit with the barrier frame

t.test("a host that stops reading is dropped; the guest stays connected", async (t) => {
  t.ok(PER_SECOND + 1 <= MAX_MESSAGES_PER_SECOND, "a batch and its barrier stay under the rate limit");
  const { app, clock } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const host = await makeUser(app, "host", "Hal");
  const link = await createLink(app, host);
  const { guest, id, g, h } = await activeCall(app, host, link.short_code);
  t.equal(g.ws.extensions, "", "no compression: bytes sent are bytes buffered");
  t.equal(app.services.signaling.size, 2);

  const sdp = randomBytes(44_000).toString("base64"); // ~59 KB, incompressible, under the 60 000 limit
  const frame = JSON.stringify({ type: "offer", sdp });
  t.ok(PER_SECOND * frame.length > MAX_BUFFERED_BYTES, "one batch is more than the buffer limit");

  // A host that reads keeps up with a full batch of large offers and stays connected.
  for (let i = 0; i < PER_SECOND; i++) g.send(frame);
  const received: string[] = [];
  for (let i = 0; i < PER_SECOND; i++) received.push((await h.next("offer")).sdp);
  t.ok(received.every((s) => s === sdp), `the host received all ${PER_SECOND} offers intact`);
  t.equal(app.services.signaling.size, 2, "a host that keeps reading is not dropped");
  t.equal(h.ws.readyState, WebSocket.OPEN);
  clock.advance(1000);

  // The host's application stops reading: its TCP receive window fills, then the server's buffer.
  (h.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  // The server has given up on the host: its socket is closing or gone.
  const dropped = () => app.services.signaling.size < 2 || [...app.websocketServer.clients].some((s) => s.readyState !== WebSocket.OPEN);

  let sent = 0;
  while (!dropped() && sent + PER_SECOND * frame.length <= BUDGET_BYTES) {
    for (let i = 0; i < PER_SECOND; i++) g.send(frame);
    sent += PER_SECOND * frame.length;
    // Barrier: an invalid frame's error reply means the server has handled every frame before it
    // (so the next batch is counted in the next clock second).
    g.send({ type: "offer" });
    await g.next("error", 10_000);
    clock.advance(1000);
  }
  t.comment(`sent ${(sent / 1024 / 1024).toFixed(1)} MiB before the server gave up on the host`);
  t.ok(dropped(), "the server closed the host's socket within the budget");

  t.same(await g.next("peer_left", 10_000), { type: "peer_left", role: "host" }, "the guest is told the host left");
  t.equal(app.services.signaling.size, 1, "only the guest's socket remains");
  t.equal(g.ws.readyState, WebSocket.OPEN, "the guest stays connected");
  t.equal(g.frames.filter((f) => f.type === "error" && f.code !== "invalid_message").length, 0, "the guest was never rate limited");
  h.ws.terminate();

  // The host comes back with a fresh token and the call carries on.
  const tok = await app.inject({ method: "POST", url: `/v1/calls/${id}/signaling-token`, headers: bearer(host.token) });
  const h2 = await connect(app, tok.json().signaling_token);
  t.match(await h2.next("welcome"), { role: "host", peer_present: true });
  t.match(await h2.next("call_state"), { status: "active" });
  t.same(await g.next("peer_joined"), { type: "peer_joined", role: "host" });
  g.send({ type: "offer", sdp: "v=0 again" });
  t.same(await h2.next("offer"), { type: "offer", sdp: "v=0 again", from: "guest" });
  await app.inject({ method: "POST", url: `/v1/calls/${id}/end`, headers: bearer(guest.token) });
  t.equal((await g.closed).code, 4010);
  t.equal((await h2.closed).code, 4010);
});
