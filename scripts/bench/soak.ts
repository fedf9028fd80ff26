// Billing soak: N concurrent calls with 1-minute windows on PostgreSQL, through the real API and
// WebSockets, kept active M minutes, then ended together.
//   npm run bench:soak -- --calls 500 --minutes 2 [--provider-latency-ms 300] [--hosts 50] [--burst 500]
//                         [--log-level warn] [--keep-db] [--server-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"]
// The service runs in a child process from the TypeScript sources (node --import tsx, not the
// compiled build) over a fresh database on DATABASE_URL's server (default: the dev PostgreSQL at
// 127.0.0.1:55433), with rate limits off. Hosts register, confirm their e-mail (from the outbox)
// and are promoted by an admin (itself promoted with the operator command); guests get guest
// tokens; every call is initiated, joined and connected over WebSockets by both participants, at
// most --burst calls at a time (beyond the server's listen backlog of 511, simultaneous connections
// are refused); the calls are ended the same way.
// Windows are 1 minute long because every link is made with window_size_minutes: 1.
// --provider-latency-ms wraps the simulated provider in a delay before each request. Only this
// script's server mode does that: the production configuration has no such knob.
// Reported, in one table: ticker lag (window boundary → capture recorded, from the database),
// exactly-once violations (from the database and the simulated provider's records), signaling
// relay latency, and GET /health latency sampled from a worker thread during the bursts.
// A benchmark, not a test: nothing in CI runs it.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { freePort } from "./startup.ts";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import pg from "pg";
import WebSocket from "ws";

const { values: args } = parseArgs({
  options: {
    calls: { type: "string", default: "100" },
    minutes: { type: "string", default: "2" },
    "provider-latency-ms": { type: "string", default: "0" },
    hosts: { type: "string" },
    burst: { type: "string", default: "500" },
    "log-level": { type: "string", default: "warn" },
    "keep-db": { type: "boolean", default: false },
    "server-node-args": { type: "string", default: "" },
    serve: { type: "boolean", default: false },
  },
});

const selfPath = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Server mode: the service as `npm start` builds it, with the simulated provider optionally slowed.
// ---------------------------------------------------------------------------------------------
async function serve(latencyMs: number) {
  const { buildApp } = await import("../../src/app.ts");
  const { loadConfig } = await import("../../src/config.ts");
  const { openDatabase } = await import("../../src/db/client.ts");
  const { simulatedPayments } = await import("../../src/adapters/payments/simulated.ts");
  const { systemClock } = await import("../../src/domain/ports/clock.ts");
  const config = loadConfig(process.env);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const simulated = simulatedPayments(database.sql, systemClock, config.publicUrl);
  // Every request that would cross the network to a real provider waits first.
  const remote = new Set(["hold", "findHold", "holdState", "capture", "release", "refund", "refunds", "createCustomer", "setupIntent", "createAccount", "account", "onboardingLink", "dashboardLink", "balance"]);
  const payments =
    latencyMs > 0
      ? new Proxy(simulated, {
          get(target, key, receiver) {
            const v = Reflect.get(target, key, receiver);
            if (typeof key !== "string" || !remote.has(key) || typeof v !== "function") return v;
            return async (...a: unknown[]) => {
              await new Promise((r) => setTimeout(r, latencyMs));
              return (v as (...x: unknown[]) => unknown).apply(target, a);
            };
          },
        })
      : simulated;
  const app = await buildApp(config, { database, payments });
  await app.listen({ port: config.port, host: config.host });
  // The event loop's delay, every half second, for the report (a /health answer's latency also
  // holds the machine's scheduling: the client and PostgreSQL run on the same cores).
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  setInterval(() => {
    process.stdout.write(`eld ${Date.now()} ${eld.percentile(99) / 1e6} ${eld.max / 1e6}\n`);
    eld.reset();
  }, 500).unref();
  const stop = async () => {
    await app.close();
    await database.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

// ---------------------------------------------------------------------------------------------
// Driver mode.
// ---------------------------------------------------------------------------------------------
interface HealthSample {
  path: "/health" | "/ready";
  at: number; // wall clock (ms) when the request was sent
  ms: number;
}

async function soak() {
  const CALLS = Number(args.calls);
  const MINUTES = Number(args.minutes);
  const LATENCY = Number(args["provider-latency-ms"]);
  const HOSTS = Number(args.hosts ?? Math.max(1, Math.ceil(CALLS / 10)));
  const BURST = Number(args.burst);
  const load0 = loadavg()[0]!.toFixed(1);
  const adminUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:55433/postgres";

  // A fresh database per run.
  const dbName = `soak_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-soak-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serverLog = path.join(dataDir, "server.log");

  log(`database ${dbName}, data ${dataDir}, ${CALLS} calls, ${HOSTS} hosts, ${MINUTES} min, provider latency ${LATENCY} ms`);
  const server = spawn(
    process.execPath,
    [...args["server-node-args"].split(" ").filter(Boolean), "--import", "tsx", selfPath, "--serve", "--provider-latency-ms", String(LATENCY)],
    {
      env: {
        ...process.env,
        NODE_ENV: "development",
        DATABASE_URL: dbUrl.toString(),
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: "127.0.0.1",
        PUBLIC_URL: base,
        RATE_LIMITS: "off",
        // The bursts measure how long the service takes; shedding would refuse part of them instead.
        PRESSURE_MAX_EVENT_LOOP_DELAY_MS: "0",
        LOG_LEVEL: args["log-level"],
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const out = createWriteStream(serverLog);
  server.stdout!.pipe(out);
  const loopDelay: { at: number; p99: number; max: number }[] = [];
  createInterface({ input: server.stdout! }).on("line", (line) => {
    const m = /^eld (\d+) ([\d.]+) ([\d.]+)$/.exec(line);
    if (m) loopDelay.push({ at: Number(m[1]), p99: Number(m[2]), max: Number(m[3]) });
  });
  server.stderr!.pipe(out);
  let serverExited = false;
  server.once("exit", () => (serverExited = true));

  const db = new pg.Client({ connectionString: dbUrl.toString() });
  let health: Worker | undefined;
  try {
    await waitHealthy(base, () => serverExited);
    await db.connect();
    log("server is up");

    // ---- accounts and links, through the API ----
    const api = apiClient(base);
    const outbox = () => readOutbox(path.join(dataDir, "outbox"));
    const adminEmail = `admin@soak.test`;
    const adminSession = await api("POST", "/v1/auth/register", null, { email: adminEmail, password: "soak-password-1", display_name: "Soak Admin" });
    await verify(api, outbox, adminEmail);
    const { runAdmin } = await import("../admin.ts");
    const quiet = { out: () => {}, err: (l: string) => console.error(l) };
    if ((await runAdmin(["promote", adminEmail, "admin"], { ...process.env, DATABASE_URL: dbUrl.toString(), DATA_DIR: dataDir }, quiet)) !== 0) throw new Error("promote admin failed");
    const adminToken = adminSession.access_token as string;

    const hosts = await pool(HOSTS, 16, async (i) => {
      const email = `host${i}@soak.test`;
      const s = await api("POST", "/v1/auth/register", null, { email, password: "soak-password-1", display_name: `Host ${i}` });
      return { email, id: s.user.id as string, token: s.access_token as string };
    });
    for (const h of hosts) await verify(api, outbox, h.email);
    await pool(HOSTS, 16, async (i) => api("POST", `/v1/admin/users/${hosts[i]!.id}/role`, adminToken, { role: "host" }));
    const links = await pool(HOSTS, 16, async (i) => (await api("POST", "/v1/links", hosts[i]!.token, { rate_per_minute: "1.00", window_size_minutes: 1 })).link.short_code as string);
    const guests = await pool(CALLS, 32, async (i) => (await api("POST", "/v1/auth/guest", null, { display_name: `Guest ${i}` })).guest_token as string);
    log(`${HOSTS} hosts with a 1-minute link each, ${CALLS} guests`);

    // ---- /health sampler (its own thread and connection) ----
    const samples: HealthSample[] = [];
    health = new Worker(HEALTH_WORKER, { eval: true, workerData: { base } });
    health.on("message", (s: HealthSample) => samples.push(s));
    const cpu = cpuSampler(server);
    await sleep(2000); // a quiet baseline
    // Statements the service ran (each is its own transaction, but for a few), per phase.
    const xacts = async () => Number((await db.query(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`)).rows[0].n);
    const x0 = await xacts();

    // ---- initiate burst: every call initiated, joined and connected (--burst at a time) ----
    const relay: number[] = [];
    const frames = { held: 0, holdFailed: 0, ended: 0 };
    const initStart = Date.now();
    const initLatency: number[] = [];
    const calls = await pool(CALLS, BURST, async (i) => {
      const host = hosts[i % HOSTS]!;
      const t0 = performance.now();
      const started = await api("POST", "/v1/calls/initiate", guests[i]!, { short_code: links[i % HOSTS], payment_method_id: "pm_card_visa" });
      initLatency.push(performance.now() - t0);
      const joined = await api("POST", `/v1/calls/${started.call.id}/join`, host.token);
      const g = await open(port, started.signaling_token);
      const h = await open(port, joined.signaling_token);
      const activeSeen = Promise.all([g, h].map((ws) => nextFrame(ws, (f) => f.type === "billing" && f.window === 1)));
      for (const ws of [g, h]) {
        ws.on("message", (d) => {
          const f = JSON.parse(String(d));
          if (f.type === "ice_candidate") relay.push(performance.timeOrigin + performance.now() - Number(f.candidate.sdpMid));
          else if (f.type === "billing") f.status === "held" ? frames.held++ : frames.holdFailed++;
          else if (f.type === "call_ended") frames.ended++;
        });
      }
      await activeSeen;
      return { id: started.call.id as string, guestToken: guests[i]!, g, h };
    });
    const initEnd = Date.now();
    const x1 = await xacts();
    log(`initiate burst: ${CALLS} calls active in ${((initEnd - initStart) / 1000).toFixed(1)} s`);

    // ---- active for M minutes, with signaling traffic ----
    // Each participant sends a frame every 5 s, the calls spread evenly over those 5 s (sent all at
    // once, the 4 000 frames of 2 000 calls were a relay burst of 300–500 ms every 5 s, which no real
    // traffic makes and which hid what the billing bursts do to /health).
    const activeUntil = Date.now() + MINUTES * 60_000;
    const SLOTS = 50; // 100 ms apart
    let slot = 0;
    const relayTimer = setInterval(() => {
      const mine = slot++ % SLOTS;
      for (const c of calls.filter((_, i) => i % SLOTS === mine)) {
        for (const ws of [c.g, c.h]) {
          if (ws.readyState !== WebSocket.OPEN) continue;
          const sent = performance.timeOrigin + performance.now();
          ws.send(JSON.stringify({ type: "ice_candidate", candidate: { candidate: "candidate:1 1 udp 2122260223 10.0.0.1 9 typ host", sdpMid: String(sent), sdpMLineIndex: 0 } }));
        }
      }
    }, 5000 / SLOTS);
    while (Date.now() < activeUntil) {
      await sleep(Math.min(15_000, activeUntil - Date.now()));
      log(`active… ${Math.max(0, Math.round((activeUntil - Date.now()) / 1000))} s left`);
    }
    clearInterval(relayTimer);
    const x2 = await xacts();

    // ---- end burst: every guest ends its call (--burst at a time) ----
    const endStart = Date.now();
    const endLatency: number[] = [];
    const endStatus = new Map<number, number>();
    await pool(CALLS, BURST, async (i) => {
      const c = calls[i]!;
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/calls/${c.id}/end`, { method: "POST", headers: { authorization: `Bearer ${c.guestToken}` } });
      await res.arrayBuffer();
      endLatency.push(performance.now() - t0);
      endStatus.set(res.status, (endStatus.get(res.status) ?? 0) + 1);
    });
    const endAnswered = Date.now();
    // Settled: every call final and no settlement pending.
    const settleDeadline = Date.now() + 5 * 60_000;
    for (;;) {
      const { rows } = await db.query(`SELECT
          (SELECT count(*) FROM calls WHERE status NOT IN ('completed', 'cancelled', 'failed'))::int AS open,
          (SELECT count(*) FROM call_tasks WHERE status = 'pending' AND kind = 'settle')::int AS settling`);
      if ((rows[0].open === 0 && rows[0].settling === 0) || Date.now() > settleDeadline) break;
      await sleep(250);
    }
    const endEnd = Date.now();
    const x3 = await xacts();
    log(`end burst: answered in ${((endAnswered - endStart) / 1000).toFixed(1)} s, settled in ${((endEnd - endStart) / 1000).toFixed(1)} s`);
    await sleep(1000);
    await health.terminate();
    health = undefined;
    const cpuTimeline = cpu.stop();
    for (const c of calls) for (const ws of [c.g, c.h]) ws.terminate();

    // ---- what the database says ----
    const check = await checkBilling(db);
    const boundaries = check.boundaries; // [from, to] spans in wall-clock ms
    const lags = check.lags.map((l) => l.lag);
    const during = check.lags.filter((l) => l.at < endStart).map((l) => l.lag);
    const atEnd = check.lags.filter((l) => l.at >= endStart).map((l) => l.lag);
    const inSpan = (s: { at: number }, spans: [number, number][]) => spans.some(([a, b]) => s.at >= a && s.at <= b);
    const healthOf = (spans: [number, number][], path = "/health") => samples.filter((s) => s.path === path && inSpan(s, spans)).map((s) => s.ms);
    const initSpan: [number, number][] = [[initStart, initEnd]];
    const endSpan: [number, number][] = [[endStart, endEnd]];
    const steady = samples.filter((s) => s.path === "/health" && !inSpan(s, [...initSpan, ...endSpan, ...boundaries])).map((s) => s.ms);
    const cpuIn = (spans: [number, number][]) => {
      const v = cpuTimeline.filter((p) => inSpan(p, spans)).map((p) => p.pct);
      return v.length ? `${Math.round(v.reduce((x, y) => x + y, 0) / v.length)} %` : "–";
    };

    const loopDelayIn = (spans: [number, number][]) => {
      const v = loopDelay.filter((p) => inSpan(p, spans));
      return v.length ? `${ms(pct(v.map((p) => p.p99), 0.99))} / ${ms(max(v.map((p) => p.max)))}` : "–";
    };

    const rows: [string, string][] = [
      ["calls / hosts / minutes / provider latency / burst", `${CALLS} / ${HOSTS} / ${MINUTES} / ${LATENCY} ms / ${BURST}`],
      ["machine load (1-min average) at start / end", `${load0} / ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`],
      ["initiate burst: all active", `${((initEnd - initStart) / 1000).toFixed(1)} s (initiate p50 ${ms(pct(initLatency, 0.5))}, p99 ${ms(pct(initLatency, 0.99))})`],
      ["windows captured at a boundary (during the calls / in the end burst)", `${during.length} / ${atEnd.length}`],
      ["ticker lag p50 / p99 / max", `${sec(pct(lags, 0.5))} / ${sec(pct(lags, 0.99))} / ${sec(max(lags))}`],
      ["ticker lag p50 / p99 / max, during the calls", `${sec(pct(during, 0.5))} / ${sec(pct(during, 0.99))} / ${sec(max(during))}`],
      ["exactly-once violations", `${check.violations.length}${check.violations.length ? ` (${summarise(check.violations)})` : ""}`],
      ["capture requests replayed (same key)", String(check.replays)],
      ["billing frames: held / hold_failed / call_ended", `${frames.held} / ${frames.holdFailed} / ${frames.ended}`],
      ["end burst: answered / settled", `${((endAnswered - endStart) / 1000).toFixed(1)} s / ${((endEnd - endStart) / 1000).toFixed(1)} s (end p50 ${ms(pct(endLatency, 0.5))}, p99 ${ms(pct(endLatency, 0.99))}; ${[...endStatus].map(([s, n]) => `${n}×${s}`).join(", ")})`],
      ["relay latency p50 / p99", `${ms(pct(relay, 0.5))} / ${ms(pct(relay, 0.99))} (${relay.length} messages)`],
      ["/health p50 / p99, initiate burst", healthRow(healthOf(initSpan))],
      ["/health p50 / p99, boundaries", healthRow(healthOf(boundaries))],
      ["/health p50 / p99, end burst", healthRow(healthOf(endSpan))],
      ["/health p50 / p99, otherwise", healthRow(steady)],
      ["/ready (one pooled query) p50 / p99, boundaries", healthRow(healthOf(boundaries, "/ready"))],
      ["database transactions per call: initiate / active / end", `${((x1 - x0) / CALLS).toFixed(1)} / ${((x2 - x1) / CALLS).toFixed(1)} / ${((x3 - x2) / CALLS).toFixed(1)} (boundaries per call while active: ${(during.length / CALLS).toFixed(2)})`],
      ["server event-loop delay p99 / max: initiate / boundaries / end", `${loopDelayIn(initSpan)}, ${loopDelayIn(boundaries)}, ${loopDelayIn(endSpan)}`],
      ["server CPU: initiate / boundaries / end / otherwise", `${cpuIn(initSpan)} / ${cpuIn(boundaries)} / ${cpuIn(endSpan)} / ${cpuIn([[initEnd, endStart]])}`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    console.log(`\n| ${"measure".padEnd(w)} | value |\n|${"-".repeat(w + 2)}|-------|`);
    for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${v} |`);
    if (check.violations.length) console.log("\nfirst violations:\n" + check.violations.slice(0, 10).map((v) => `  ${v}`).join("\n"));
    process.exitCode = check.violations.length ? 1 : 0;
  } catch (err) {
    console.error(err);
    console.error(`server log: ${serverLog}`);
    process.exitCode = 2;
  } finally {
    await health?.terminate();
    await db.end().catch(() => {});
    await stopServer(server);
    if (!args["keep-db"]) {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
      if (process.exitCode === 0) rmSync(dataDir, { recursive: true, force: true });
    } else log(`kept database ${dbName} and ${dataDir}`);
  }
}

/**
 * Reads every call, window, capture and provider record. Violations: a window used but not
 * captured, captured twice, captured for another amount than the billing rule
 * (docs/billing.md, "Holds and captures"), a provider capture that differs from the recorded one,
 * a hold neither captured nor released, a call not final, a call's amount charged that is not the
 * sum of its captures. Lags: boundary → capture recorded, for every window that ended while its
 * call was still going.
 */
async function checkBilling(db: pg.Client) {
  const calls = (await db.query(`SELECT id, status, rate_cents, window_minutes, started_at, ended_at, amount_charged_cents FROM calls`)).rows;
  const captures = (await db.query(`SELECT call_id, window_index, gross_cents, payment_ref, created_at FROM captures`)).rows;
  const intents = new Map<string, { status: string; captured_cents: number }>(
    (await db.query(`SELECT id, status, captured_cents FROM sim_payment_intents`)).rows.map((r) => [r.id, r]),
  );
  const requests = (await db.query(`SELECT idempotency_key, count(*) FILTER (WHERE NOT replayed)::int AS first, count(*) FILTER (WHERE replayed)::int AS replays FROM sim_payment_requests WHERE action = 'capture' GROUP BY 1`)).rows;
  const byCall = new Map<string, { window_index: number; gross_cents: number; payment_ref: string; created_at: Date }[]>();
  for (const c of captures) byCall.set(c.call_id, [...(byCall.get(c.call_id) ?? []), c]);
  const violations: string[] = [];
  const lags: { lag: number; at: number }[] = [];
  const boundary = new Map<number, [number, number]>(); // window index → [first boundary, last capture]
  for (const c of calls) {
    const mine = byCall.get(c.id) ?? [];
    const total = mine.reduce((s, x) => s + x.gross_cents, 0);
    if (!["completed", "cancelled", "failed"].includes(c.status)) violations.push(`call ${c.id}: still ${c.status}`);
    if (total !== c.amount_charged_cents) violations.push(`call ${c.id}: charged ${c.amount_charged_cents}, captures sum to ${total}`);
    if (!c.started_at) {
      if (mine.length) violations.push(`call ${c.id}: never active but captured`);
      continue;
    }
    const W = c.window_minutes * 60_000;
    const s = c.started_at.getTime();
    const e = (c.ended_at ?? new Date()).getTime();
    for (let k = 1; s + (k - 1) * W < e; k++) {
      const end = s + k * W;
      const used = Math.min(e, end) - (end - W);
      const expected = Math.ceil(used / 60_000) * c.rate_cents;
      const got = mine.filter((x) => x.window_index === k);
      if (got.length !== 1) violations.push(`call ${c.id} window ${k}: ${got.length} captures`);
      else if (got[0]!.gross_cents !== expected) violations.push(`call ${c.id} window ${k}: captured ${got[0]!.gross_cents}, expected ${expected}`);
      if (got.length >= 1 && end <= e) {
        const at = got[0]!.created_at.getTime();
        lags.push({ lag: at - end, at });
        const span = boundary.get(k) ?? [end, at];
        boundary.set(k, [Math.min(span[0], end), Math.max(span[1], at)]);
      }
    }
    for (const x of mine) {
      if (x.window_index < 1 || s + (x.window_index - 1) * W >= e) violations.push(`call ${c.id} window ${x.window_index}: captured but never used`);
      const intent = intents.get(x.payment_ref);
      if (!intent || intent.status !== "succeeded" || intent.captured_cents !== x.gross_cents) {
        violations.push(`call ${c.id} window ${x.window_index}: provider has ${intent ? `${intent.status} ${intent.captured_cents}` : "no hold"}, recorded ${x.gross_cents}`);
      }
    }
  }
  for (const [id, i] of intents) if (i.status === "requires_capture") violations.push(`hold ${id}: neither captured nor released`);
  for (const r of requests) if (r.first !== 1) violations.push(`capture ${r.idempotency_key}: ${r.first} first requests`);
  const captureRequests = new Set(requests.map((r) => r.idempotency_key));
  if (captureRequests.size < captures.length) violations.push(`${captures.length} captures recorded, ${captureRequests.size} capture requests`);
  return { violations, lags, replays: requests.reduce((s, r) => s + r.replays, 0), boundaries: [...boundary.values()] };
}

// ---------------------------------------------------------------------------------------------
// Small helpers.
// ---------------------------------------------------------------------------------------------
// GET /health (no database) and GET /ready (one query through the service's connection pool),
// each in its own loop: one request at a time, 20 ms apart.
const HEALTH_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
for (const path of ["/health", "/ready"]) {
  (async () => {
    for (;;) {
      const at = Date.now();
      const t0 = performance.now();
      try {
        const res = await fetch(workerData.base + path);
        await res.arrayBuffer();
        parentPort.postMessage({ path, at, ms: performance.now() - t0 });
      } catch {}
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
}
`;

function log(msg: string) {
  console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(v: number[], q: number): number {
  if (!v.length) return NaN;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
const max = (v: number[]) => (v.length ? Math.max(...v) : NaN);
const ms = (x: number) => (Number.isNaN(x) ? "–" : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
const sec = (x: number) => (Number.isNaN(x) ? "–" : `${(x / 1000).toFixed(2)} s`);
const healthRow = (v: number[]) => `${ms(pct(v, 0.5))} / ${ms(pct(v, 0.99))} (${v.length} samples, max ${ms(max(v))})`;

function summarise(v: string[]) {
  const kinds = new Map<string, number>();
  for (const x of v) {
    const k = x.replace(/^\S+ \S+( window \d+)?: /, "").replace(/\d+/g, "#");
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  return [...kinds].map(([k, n]) => `${n}× ${k}`).join("; ");
}

async function pool<T>(n: number, width: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await f(i);
      }
    }),
  );
  return out;
}

function apiClient(base: string) {
  return async (method: string, url: string, token: string | null, body?: unknown): Promise<any> => {
    const res = await fetch(base + url, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

/** The verification code of the latest mail to `email` in the outbox, confirmed through the API. */
async function verify(api: ReturnType<typeof apiClient>, outbox: () => { to: string; token: string | null }[], email: string) {
  for (let i = 0; i < 100; i++) {
    const mail = outbox().filter((m) => m.to.includes(email) && m.token).pop();
    if (mail) return api("POST", "/v1/auth/verify-email", null, { token: mail.token });
    await sleep(50);
  }
  throw new Error(`no verification mail to ${email}`);
}

function readOutbox(dir: string) {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".eml")).sort();
  } catch {
    // No outbox yet: no mail sent.
  }
  return names.map((n) => {
    // Quoted-printable soft breaks and escapes, enough to find the code.
    const raw = readFileSync(path.join(dir, n), "utf8").replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return { to: /^To: (.*)$/m.exec(raw)?.[1] ?? "", token: /\b(ev_[A-Za-z0-9_-]{43})\b/.exec(raw)?.[1] ?? null };
  });
}

function open(port: number, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(token)}`);
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`ws upgrade: HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

function nextFrame(ws: WebSocket, pred: (f: any) => boolean, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no activation frame within 2 minutes")), timeoutMs);
    const on = (d: WebSocket.RawData) => {
      if (pred(JSON.parse(String(d)))) {
        clearTimeout(timer);
        ws.off("message", on);
        resolve();
      }
    };
    ws.on("message", on);
  });
}

async function waitHealthy(base: string, exited: () => boolean) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (exited()) throw new Error("the server exited");
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // Not listening yet: try again.
    }
    await sleep(200);
  }
  throw new Error("the server did not answer /health within 2 minutes");
}

/** The server process's CPU use (% of one core), once a second, from /proc. */
function cpuSampler(child: ChildProcess) {
  const points: { at: number; pct: number }[] = [];
  const ticks = () => {
    try {
      const f = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 per second)
    } catch {
      return NaN;
    }
  };
  let last = { at: Date.now(), t: ticks() };
  const timer = setInterval(() => {
    const now = { at: Date.now(), t: ticks() };
    points.push({ at: now.at, pct: ((now.t - last.t) * 1000) / (now.at - last.at) });
    last = now;
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      return points;
    },
  };
}

async function stopServer(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(20_000)]);
  if (child.exitCode === null) child.kill("SIGKILL");
}

if (args.serve) await serve(Number(args["provider-latency-ms"]));
else await soak();
