// Signaling benchmark: N concurrent call pairs against a listening server; each participant sends
// M relayed messages (ice_candidate frames carrying a send timestamp) at R messages per second (the
// per-connection limit is 50/s), and the peer measures relay latency.
//   npm run bench:signaling -- [--pairs 50] [--messages 200] [--rate 40]
// The server is built in-process over a throw-away embedded database (rate limits off, real clock)
// and listens on a random local port; clients speak real HTTP and WebSocket to it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { buildApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { uuidv7 } from "../../src/domain/ids.ts";
import { waitFor } from "./relay.ts";

const { values } = parseArgs({
  options: { pairs: { type: "string", default: "50" }, messages: { type: "string", default: "200" }, rate: { type: "string", default: "40" } },
});
const PAIRS = Number(values.pairs);
const MESSAGES = Number(values.messages);
const RATE = Math.min(Number(values.rate), 50);

const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-bench-"));
const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "warn", RATE_LIMITS: "off", PUBLIC_URL: "http://bench.local" });
const app = await buildApp(config);
await app.listen({ port: 0, host: "127.0.0.1" });
const port = (app.server.address() as { port: number }).port;
const base = `http://127.0.0.1:${port}`;

async function api(method: string, url: string, token: string, body?: unknown) {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<any>;
}

function open(token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}


console.log(`setting up ${PAIRS} call pairs…`);
const pairs: { callId: string; guestToken: string; guest: WebSocket; host: WebSocket }[] = [];
await Promise.all(
  Array.from({ length: PAIRS }, async (_, i) => {
    const now = new Date();
    const hostId = uuidv7(app.clock);
    await app.db.user.create({
      data: { id: hostId, email: `host${i}@bench.local`, emailKey: `host${i}@bench.local`, displayName: `Host ${i}`, passwordHash: "-", role: "host", createdAt: now, updatedAt: now },
    });
    const hostToken = app.tokens.access({ id: hostId, role: "host" }).token;
    const guestId = uuidv7(app.clock);
    await app.db.guest.create({ data: { id: guestId, displayName: `Guest ${i}`, createdAt: now, expiresAt: new Date(now.getTime() + 86_400_000) } });
    const guestToken = app.tokens.guest({ id: guestId }).token;
    const { link } = await api("POST", "/v1/links", hostToken, { rate_per_minute: "1.00", window_size_minutes: 10 });
    const started = await api("POST", "/v1/calls/initiate", guestToken, { short_code: link.short_code, payment_method_id: "pm_card_visa" });
    const joined = await api("POST", `/v1/calls/${started.call.id}/join`, hostToken);
    const guest = await open(started.signaling_token);
    const active = waitFor(guest, "billing");
    const host = await open(joined.signaling_token);
    await active;
    pairs.push({ callId: started.call.id, guestToken, guest, host });
  }),
);

const latencies: number[] = [];
let received = 0;
const expected = PAIRS * 2 * MESSAGES;
let done!: () => void;
const allIn = new Promise<void>((r) => (done = r));
for (const p of pairs) {
  for (const ws of [p.guest, p.host]) {
    ws.on("message", (d) => {
      const f = JSON.parse(String(d));
      if (f.type !== "ice_candidate") return;
      latencies.push(performance.now() - Number(f.candidate.sdpMid));
      if (++received === expected) done();
    });
  }
}

console.log(`relaying ${MESSAGES} messages each way per pair at ${RATE}/s per connection…`);
const started = performance.now();
const interval = 1000 / RATE;
await Promise.all(
  pairs.flatMap((p) =>
    [p.guest, p.host].map(async (ws) => {
      const t0 = performance.now();
      for (let i = 0; i < MESSAGES; i++) {
        const due = t0 + i * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        ws.send(JSON.stringify({ type: "ice_candidate", candidate: { candidate: `candidate:${i} 1 udp 2122260223 10.0.0.1 ${10000 + i} typ host`, sdpMid: String(performance.now()), sdpMLineIndex: 0 } }));
      }
    }),
  ),
);
await Promise.race([allIn, new Promise((r) => setTimeout(r, 10_000))]);
const elapsed = (performance.now() - started) / 1000;

latencies.sort((a, b) => a - b);
const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
console.log(`pairs: ${PAIRS} (${PAIRS * 2} sockets), relayed: ${received}/${expected} in ${elapsed.toFixed(2)} s`);
console.log(`throughput: ${(received / elapsed).toFixed(0)} messages/s`);
console.log(`latency: p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${latencies[latencies.length - 1]!.toFixed(2)} ms`);

await Promise.all(pairs.map((p) => api("POST", `/v1/calls/${p.callId}/end`, p.guestToken)));
await app.close();
rmSync(dataDir, { recursive: true, force: true });
process.exit(received === expected ? 0 : 1);
