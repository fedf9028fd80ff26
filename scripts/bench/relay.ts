// Signaling against a raw `ws` relay: P call pairs, each side sending M ice_candidate frames at R a
// second (the service allows 50 a second per connection), the peer timing each frame's relay. The
// service relays through its signaling hub (frame schema, per-connection limits, call state); the
// anchor is a bare `ws` server that pairs two sockets and forwards text frames. Reported per side:
// relay latency p50/p99 and the server process's CPU time per relayed frame.
import WebSocket, { WebSocketServer } from "ws";

export interface RelayResult {
  p50: number;
  p99: number;
  cpuPerFrame: number;
  relayed: number;
  expected: number;
}

/** A bare `ws` relay, in the anchor process: /?pair=<id> — the second socket of a pair is its peer. */
export function rawRelay(server: import("node:http").Server) {
  const wss = new WebSocketServer({ server });
  const waiting = new Map<string, WebSocket>();
  wss.on("connection", (ws, req) => {
    const pair = new URL(req.url ?? "/", "http://x").searchParams.get("pair") ?? "";
    const other = waiting.get(pair);
    if (!other) {
      waiting.set(pair, ws);
      return;
    }
    waiting.delete(pair);
    ws.on("message", (d, isBinary) => other.send(d, { binary: isBinary }));
    other.on("message", (d, isBinary) => ws.send(d, { binary: isBinary }));
    for (const s of [ws, other]) s.send(JSON.stringify({ type: "paired" }));
  });
}

export const open = (url: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });

export const waitFor = (ws: WebSocket, type: string) =>
  new Promise<void>((resolve) => {
    const on = (d: WebSocket.RawData) => {
      if (JSON.parse(String(d)).type === type) {
        ws.off("message", on);
        resolve();
      }
    };
    ws.on("message", on);
  });

/** Sends M frames each way on every pair at `rate` a second and times their relay. */
export async function relay(pairs: [WebSocket, WebSocket][], messages: number, rate: number, cpu: () => number): Promise<RelayResult> {
  const latencies: number[] = [];
  const expected = pairs.length * 2 * messages;
  let relayed = 0;
  let done!: () => void;
  const allIn = new Promise<void>((r) => (done = r));
  const listeners: [WebSocket, (d: WebSocket.RawData) => void][] = [];
  for (const pair of pairs) {
    for (const ws of pair) {
      const on = (d: WebSocket.RawData) => {
        const f = JSON.parse(String(d));
        if (f.type !== "ice_candidate") return;
        latencies.push(performance.now() - Number(f.candidate.sdpMid));
        if (++relayed === expected) done();
      };
      ws.on("message", on);
      listeners.push([ws, on]);
    }
  }
  const cpu0 = cpu();
  const interval = 1000 / rate;
  await Promise.all(
    pairs.flat().map(async (ws) => {
      const t0 = performance.now();
      for (let i = 0; i < messages; i++) {
        const wait = t0 + i * interval - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        ws.send(
          JSON.stringify({
            type: "ice_candidate",
            candidate: { candidate: `candidate:${i} 1 udp 2122260223 10.0.0.1 ${10000 + i} typ host`, sdpMid: String(performance.now()), sdpMLineIndex: 0 },
          }),
        );
      }
    }),
  );
  await Promise.race([allIn, new Promise((r) => setTimeout(r, 10_000))]);
  const used = cpu() - cpu0;
  for (const [ws, on] of listeners) ws.off("message", on);
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { p50: pct(0.5), p99: pct(0.99), cpuPerFrame: used / Math.max(1, relayed), relayed, expected };
}
