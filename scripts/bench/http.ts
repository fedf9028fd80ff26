// `npm run bench`: the compiled service against its anchors, request type by request type, on one
// database, interleaved (anchor, service, anchor, service …) so that whatever else the machine is
// doing weighs on both alike. Prints one table: req/s, p50 and p99 of each side and the ratio of
// the service's req/s to its anchor's; then the token-verification micro-benchmark and, from
// scripts/bench/startup.ts, cold start and idle memory.
//   npm run bench -- [--db postgres|embedded] [--duration 5] [--rounds 3] [--connections 10]
//                    [--only health,me,…] [--skip-startup] [--service <checkout>]
// --service runs another checkout's dist/ against the same anchors (a before/after comparison).
// --profile <dir> writes the service's CPU profile there (summarise it with scripts/bench/profile.ts).
// --db postgres uses $DATABASE_URL (a fresh database is created on that server and dropped after),
// or the dev server at postgresql://postgres@127.0.0.1:55433/postgres. The service runs from
// dist/ (`npm run bench` builds it first), with its defaults but RATE_LIMITS=off (one client
// address would otherwise be limited) and its logs discarded.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, existsSync, readFileSync } from "node:fs";
import { freePort } from "./startup.ts";
import { tmpdir, cpus } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import argon2 from "argon2";
import { openSqlSession } from "../../src/db/client.ts";
import { migrate } from "../../src/db/migrate.ts";
import { uuidv7 } from "../../src/domain/ids.ts";
import { defaultArgon2 } from "../../src/config.ts";
import { tokenBenchmark } from "./tokens.ts";
import { open, relay, waitFor, type RelayResult } from "./relay.ts";
import type WebSocket from "ws";

const ROOT = path.resolve(import.meta.dirname, "../..");
const { values: args } = parseArgs({
  options: {
    db: { type: "string" },
    duration: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "10" },
    only: { type: "string" },
    "skip-startup": { type: "boolean", default: false },
    pairs: { type: "string", default: "50" },
    service: { type: "string" },
    profile: { type: "string" },
  },
});
const DB = (args.db ?? (process.env.DATABASE_URL ? "postgres" : "embedded")) as "postgres" | "embedded";
const DURATION = Number(args.duration);
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const ONLY = args.only?.split(",");
const SERVICE_ROOT = path.resolve(args.service ?? ROOT);
const PASSWORD = "bench password 1";
const LIST_SIZES = [1_000, 10_000];
const PAIRS = Number(args.pairs);
const RELAY_RATE = 40; // frames a second per socket (the service's limit is 50)

if (!existsSync(path.join(SERVICE_ROOT, "dist/src/server.js"))) {
  console.error("dist/src/server.js is missing: run `npm run build` (npm run bench does)");
  process.exit(1);
}

// --- the database ---------------------------------------------------------------------------
const adminUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:55433/postgres";
const work = mkdtempSync(path.join(tmpdir(), "vidivo-bench-"));
let databaseUrl: string | undefined;
const dbName = `vidivo_bench_${process.pid}`;
async function adminSql(sql: string) {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
if (DB === "postgres") {
  await adminSql(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  databaseUrl = url.toString();
}
const serviceDataDir = path.join(work, "service");
const dbOptions = { databaseUrl, dataDir: serviceDataDir };

const hash = await argon2.hash(PASSWORD, { type: argon2.argon2id, ...defaultArgon2 });
const clock = { now: () => Date.now() };
const benchUserId = uuidv7(clock);
let listed = 0;

/** Seeds the service's database (the service is not running: PGlite has one owner at a time). */
async function seed(listSize: number) {
  const db = await openSqlSession(dbOptions);
  try {
    await migrate(db);
    if (listed === 0) {
      await db.query(
        `INSERT INTO users (id, email, email_key, username, display_name, password_hash, role, email_verified_at, created_at, updated_at)
         VALUES ($1, 'bench@bench.local', 'bench@bench.local', 'bench', 'Bench', $2, 'host', now(), now(), now())`,
        [benchUserId, hash],
      );
      // Hosts of the signaling comparison's calls.
      await db.query(
        `INSERT INTO users (id, email, email_key, display_name, password_hash, role, email_verified_at, created_at, updated_at)
         SELECT id, 'host' || n || '@bench.local', 'host' || n || '@bench.local', 'Host ' || n, $2, 'host', now(), now(), now()
         FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, n)`,
        [Array.from({ length: PAIRS }, () => uuidv7(clock)), hash],
      );
    }
    // The V-app directory: users with a name, a display name and (every third) an image.
    for (let i = listed; i < listSize; i += 500) {
      const ids: string[] = [];
      const names: string[] = [];
      for (let j = i; j < Math.min(i + 500, listSize); j++) {
        ids.push(uuidv7(clock));
        names.push(`user${j}`);
      }
      await db.query(
        `INSERT INTO users (id, username, display_name, password_hash, image_key, created_at, updated_at)
         SELECT id, name, 'User ' || name, $3, CASE WHEN ord % 3 = 0 THEN 'avatars/' || name || '.jpg' END, now(), now()
         FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS t(id, name, ord)`,
        [ids, names, hash],
      );
    }
    listed = listSize;
  } finally {
    await db.close();
  }
}

// --- processes ------------------------------------------------------------------------------

async function waitReady(url: string, child: ChildProcess) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode})`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}: not ready after 60 s`);
}

async function startService(): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: serviceDataDir, RATE_LIMITS: "off", NODE_ENV: "" };
  delete env.DATABASE_URL;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const child = spawn(process.execPath, [...(args.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(args.profile)}`] : []), path.join(SERVICE_ROOT, "dist/src/server.js")], { env, stdio: ["ignore", "ignore", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/ready`, child);
  return { base, child };
}

async function startAnchor(): Promise<{ base: string; child: ChildProcess }> {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_HASH: hash, BENCH_USER_ID: benchUserId };
  if (databaseUrl) env.BENCH_DATABASE_URL = databaseUrl;
  else env.BENCH_DATA_DIR = path.join(work, "anchor");
  const child = spawn(process.execPath, [...(args.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(args.profile, "anchor")}`] : []), "--import", "tsx", path.join(ROOT, "scripts/bench/anchor.ts")], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once("data", (d) => resolve(JSON.parse(String(d).split("\n")[0]!).port));
    child.once("exit", (code) => reject(new Error(`anchor exited (${code})`)));
  });
  return { base: `http://127.0.0.1:${port}`, child };
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });

async function json(base: string, method: string, url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + url, { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<any>;
}

// --- measurement ----------------------------------------------------------------------------
interface Target {
  url: string;
  /** The server process (for its CPU time). */
  pid: number;
  method?: "GET" | "POST" | "PATCH";
  headers?: Record<string, string>;
  body?: string;
}
interface Sample {
  rps: number;
  /** CPU time the server process spent per request (µs): steadier than req/s on a busy machine. */
  cpu: number;
  p50: number;
  p99: number;
  bytes: number;
  bad: number;
}

/** user + system CPU time of a process, in µs (Linux: /proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function load(t: Target, pid: number, connections = CONNECTIONS): Promise<Sample> {
  const cpu0 = cpuMicros(pid);
  const r = await autocannon({
    url: t.url,
    method: t.method ?? "GET",
    headers: t.headers,
    body: t.body,
    connections,
    duration: DURATION,
  });
  return {
    rps: r.requests.average,
    cpu: (cpuMicros(pid) - cpu0) / Math.max(1, r.requests.total),
    p50: r.latency.p50,
    p99: r.latency.p99,
    bytes: r.throughput.average / Math.max(1, r.requests.average),
    bad: r.non2xx + r.errors + r.timeouts,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = (ss: Sample[]): Sample => ({
  rps: median(ss.map((s) => s.rps)),
  cpu: median(ss.map((s) => s.cpu)),
  p50: median(ss.map((s) => s.p50)),
  p99: median(ss.map((s) => s.p99)),
  bytes: median(ss.map((s) => s.bytes)),
  bad: ss.reduce((n, s) => n + s.bad, 0),
});

interface Row {
  name: string;
  anchorName: string;
  anchor: Sample;
  service: Sample;
}
const rows: Row[] = [];
const wanted = (name: string) => !ONLY || ONLY.includes(name);

/** Runs anchor and service alternately, ROUNDS times each, and records the medians. */
async function compare(name: string, label: string, anchorName: string, anchor: Target, service: Target) {
  if (!wanted(name)) return;
  const a: Sample[] = [];
  const s: Sample[] = [];
  await load(anchor, anchor.pid); // warm-up, not recorded (JIT, pools, caches)
  await load(service, service.pid);
  for (let i = 0; i < ROUNDS; i++) {
    a.push(await load(anchor, anchor.pid));
    s.push(await load(service, service.pid));
  }
  const row = { name: label, anchorName, anchor: summary(a), service: summary(s) };
  rows.push(row);
  process.stderr.write(`  ${label}: ${row.service.rps.toFixed(0)} req/s (anchor ${row.anchor.rps.toFixed(0)})\n`);
}

const fmt = (s: Sample) => `${s.rps.toFixed(0)} | ${s.p50} | ${s.p99} | ${s.cpu.toFixed(0)}`;

// --- signaling ------------------------------------------------------------------------------
let relayRow: { anchor: RelayResult; service: RelayResult } | undefined;

async function compareRelay(service: { base: string; child: ChildProcess }, anchor: { base: string; child: ChildProcess }) {
  const ws = (base: string) => base.replace(/^http/, "ws");
  const servicePairs: [WebSocket, WebSocket][] = [];
  const ends: (() => Promise<unknown>)[] = [];
  for (let i = 1; i <= PAIRS; i++) {
    const host = await json(service.base, "POST", "/v1/auth/login", { email: `host${i}@bench.local`, password: PASSWORD });
    const hostAuth = { authorization: `Bearer ${host.access_token}` };
    const { link } = await json(service.base, "POST", "/v1/links", { rate_per_minute: "1.00", window_size_minutes: 10 }, hostAuth);
    const guest = await json(service.base, "POST", "/v1/auth/guest", { display_name: `Guest ${i}` });
    const guestAuth = { authorization: `Bearer ${guest.guest_token}` };
    const started = await json(service.base, "POST", "/v1/calls/initiate", { short_code: link.short_code, payment_method_id: "pm_card_visa" }, guestAuth);
    const joined = await json(service.base, "POST", `/v1/calls/${started.call.id}/join`, {}, hostAuth);
    const g = await open(`${ws(service.base)}/ws?token=${started.signaling_token}`);
    const active = waitFor(g, "billing");
    const h = await open(`${ws(service.base)}/ws?token=${joined.signaling_token}`);
    await active;
    servicePairs.push([g, h]);
    ends.push(() => json(service.base, "POST", `/v1/calls/${started.call.id}/end`, {}, guestAuth));
  }
  const anchorPairs: [WebSocket, WebSocket][] = [];
  for (let i = 0; i < PAIRS; i++) {
    const a = await open(`${ws(anchor.base)}/?pair=${i}`);
    const paired = waitFor(a, "paired");
    const b = await open(`${ws(anchor.base)}/?pair=${i}`);
    await paired;
    anchorPairs.push([a, b]);
  }
  const messages = RELAY_RATE * DURATION;
  const a: RelayResult[] = [];
  const s: RelayResult[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    a.push(await relay(anchorPairs, messages, RELAY_RATE, () => cpuMicros(anchor.child.pid!)));
    s.push(await relay(servicePairs, messages, RELAY_RATE, () => cpuMicros(service.child.pid!)));
  }
  await Promise.all(ends.map((end) => end()));
  for (const p of [...servicePairs, ...anchorPairs]) for (const w of p) w.close();
  const mid = (rs: RelayResult[]): RelayResult => ({
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    cpuPerFrame: median(rs.map((r) => r.cpuPerFrame)),
    relayed: rs.reduce((n, r) => n + r.relayed, 0),
    expected: rs.reduce((n, r) => n + r.expected, 0),
  });
  return { anchor: mid(a), service: mid(s) };
}

// --- run ------------------------------------------------------------------------------------
process.stderr.write(`bench: ${DB} database, ${CONNECTIONS} connections, ${ROUNDS} × ${DURATION} s per side\n`);
await seed(LIST_SIZES[0]!);
let service = await startService();
const anchor = await startAnchor();
try {
  const login = await json(service.base, "POST", "/v1/auth/login", { email: "bench@bench.local", password: PASSWORD });
  const bearer = { authorization: `Bearer ${login.access_token}` };
  const jsonHeaders = { "content-type": "application/json" };
  /** A fresh V-app session token (the V-app's tokens are short-lived, and the list rows come minutes later). */
  const vappBearer = async () => ({ authorization: `Bearer ${(await json(service.base, "POST", "/token", { name: "bench", password: PASSWORD })).token}` });

  await compare("health", "GET /health", "bare Fastify hello", { pid: anchor.child.pid!, url: `${anchor.base}/hello` }, { pid: service.child.pid!, url: `${service.base}/health` });
  await compare("me", "GET /v1/users/me", "raw SELECT", { pid: anchor.child.pid!, url: `${anchor.base}/users/${benchUserId}` }, {
    pid: service.child.pid!,
    url: `${service.base}/v1/users/me`,
    headers: bearer,
  });
  await compare(
    "patch",
    "PATCH /v1/users/me",
    "raw UPDATE … RETURNING",
    { pid: anchor.child.pid!, url: `${anchor.base}/users/${benchUserId}`, method: "PATCH", headers: jsonHeaders, body: JSON.stringify({ display_name: "Bench A" }) },
    { pid: service.child.pid!, url: `${service.base}/v1/users/me`, method: "PATCH", headers: { ...bearer, ...jsonHeaders }, body: JSON.stringify({ display_name: "Bench S" }) },
  );
  await compare(
    "link",
    "POST /v1/links",
    "raw INSERT … RETURNING",
    { pid: anchor.child.pid!, url: `${anchor.base}/links`, method: "POST", headers: jsonHeaders, body: JSON.stringify({ host_id: benchUserId, rate_cents: 250, window_minutes: 10 }) },
    { pid: service.child.pid!, url: `${service.base}/v1/links`, method: "POST", headers: { ...bearer, ...jsonHeaders }, body: JSON.stringify({ rate_per_minute: "2.50", window_size_minutes: 10 }) },
  );
  await compare(
    "login",
    "POST /v1/auth/login",
    "raw argon2 verify",
    { pid: anchor.child.pid!, url: `${anchor.base}/argon2`, method: "POST", headers: jsonHeaders, body: JSON.stringify({ password: PASSWORD }) },
    { pid: service.child.pid!, url: `${service.base}/v1/auth/login`, method: "POST", headers: jsonHeaders, body: JSON.stringify({ email: "bench@bench.local", password: PASSWORD }) },
  );
  for (const size of LIST_SIZES) {
    if (!wanted("users")) break;
    if (size !== listed) {
      await stop(service.child);
      await seed(size);
      service = await startService();
    }
    const authorization = await vappBearer();
    for (const encoding of ["identity", "gzip"]) {
      await compare(
        "users",
        `GET /users, ${size.toLocaleString("en")} users, ${encoding}`,
        "bare Fastify hello",
        { pid: anchor.child.pid!, url: `${anchor.base}/hello` },
        { pid: service.child.pid!, url: `${service.base}/users`, headers: { ...authorization, "accept-encoding": encoding } },
      );
    }
  }
  if (wanted("signaling")) relayRow = await compareRelay(service, anchor);
} finally {
  await stop(service.child);
  await stop(anchor.child);
}

// --- report ---------------------------------------------------------------------------------
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, Node ${process.versions.node}`;
const out: string[] = [];
out.push(`\n### ${new Date().toISOString().slice(0, 10)} · ${DB === "postgres" ? "PostgreSQL" : "embedded PGlite"} · ${machine}`);
out.push(`${CONNECTIONS} connections, median of ${ROUNDS} interleaved ${DURATION}-second runs per side; latencies in ms.\n`);
out.push("| request | anchor | req/s | p50 | p99 | CPU µs/req | service req/s | p50 | p99 | CPU µs/req | bytes | ratio req/s | ratio CPU |");
out.push("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
for (const r of rows) {
  const flag = r.service.bad || r.anchor.bad ? ` (${r.service.bad + r.anchor.bad} non-2xx/errors!)` : "";
  out.push(`| \`${r.name}\` | ${r.anchorName} | ${fmt(r.anchor)} | ${fmt(r.service)} | ${r.service.bytes.toFixed(0)} | **${(r.service.rps / r.anchor.rps).toFixed(2)}**${flag} | ${(r.anchor.cpu / r.service.cpu).toFixed(2)} |`);
}
if (relayRow) {
  const { anchor: a, service: sv } = relayRow;
  const lost = sv.expected - sv.relayed + a.expected - a.relayed;
  out.push(
    `\nSignaling, ${PAIRS} call pairs, ${RELAY_RATE} frames/s per socket: raw \`ws\` relay p50 ${a.p50.toFixed(2)} ms, p99 ${a.p99.toFixed(2)} ms, ` +
      `${a.cpuPerFrame.toFixed(0)} µs CPU per frame; service p50 ${sv.p50.toFixed(2)} ms, p99 ${sv.p99.toFixed(2)} ms, ${sv.cpuPerFrame.toFixed(0)} µs CPU per frame; ` +
      `**ratio ${(a.cpuPerFrame / sv.cpuPerFrame).toFixed(2)}** (CPU per frame, anchor ÷ service)${lost ? `, ${lost} frames lost!` : ""}.`,
  );
}
if (wanted("tokens")) {
  const t = await tokenBenchmark();
  out.push(`\nToken verification (in process, ${t.iterations.toLocaleString("en")} verifies): ${t.serviceMicros.toFixed(1)} µs each for a token seen before, ${t.firstSightMicros.toFixed(1)} µs for a token seen once; a bare RS256 signature check with the key parsed once: ${t.bareMicros.toFixed(1)} µs.`);
}
if (!args["skip-startup"] && wanted("startup")) {
  const { startupBenchmark } = await import("./startup.ts");
  out.push(await startupBenchmark({ databaseUrl: DB === "postgres" ? adminUrl : undefined }));
}
console.log(out.join("\n"));

if (DB === "postgres") await adminSql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
rmSync(work, { recursive: true, force: true });
