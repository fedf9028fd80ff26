// Cold start and idle memory of the compiled service (dist/, built beforehand: this builds nothing),
// against a bare Fastify hello started the same way. For each start: the wall time from spawning
// `node dist/src/server.js` to the first 200 from GET /ready (which runs a database query), the CPU
// time the process had used by then (user + system, all threads: steadier than wall time on a busy
// machine), then the resident memory (VmRSS) once it has answered a few requests and sat idle for
// five seconds, and its peak (VmHWM). Measured:
//   embedded  first start on an empty DATA_DIR, then a second start on the same DATA_DIR
//   postgres  first start on a fresh database (migrations applied), then a second start
// Rounds are interleaved (anchor, embedded, postgres, anchor …) and each cell is the median.
//   tsx scripts/bench/startup.ts [--runs 3] [--db embedded|postgres|both] [--service <checkout>]
// --db postgres (or both) uses $DATABASE_URL, else the dev server at 127.0.0.1:55433, creating a
// database per round and dropping it after. Linux only (reads /proc).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SETTLE_MS = 5_000;
const START_TIMEOUT_MS = 120_000;
const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: the unit of utime/stime in /proc/<pid>/stat on Linux
const DEV_DATABASE_URL = "postgresql://postgres@127.0.0.1:55433/postgres";

/** The anchor: Fastify 5 with one route, nothing else loaded. */
const BARE_FASTIFY = `
import Fastify from "fastify";
const app = Fastify({ logger: false });
app.get("/hello", async () => ({ status: "ok" }));
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
`;

export interface StartSample {
  /** Spawn to the first 200 of the readiness URL. */
  readyMs: number;
  /** CPU time (user + system, every thread) the process had used at that moment. */
  cpuMs: number;
  /** After a few requests and SETTLE_MS idle. */
  idleRssMb: number;
  peakRssMb: number;
}

export interface StartSpec {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Path polled until it answers 200 (e.g. /ready). */
  readyPath: string;
  /** Paths requested once ready, before the idle wait. */
  warmPaths: string[];
}

/** A port free on loopback now (for a child process to listen on). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuMsOf(pid: number): number {
  // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

function memoryMbOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Starts the process, measures it as StartSample says, and stops it. */
export async function measureStart(spec: StartSpec): Promise<StartSample> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { PATH: process.env.PATH ?? "", ...spec.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-4000)));
  try {
    let readyMs: number | undefined;
    let cpuMs = 0;
    while (readyMs === undefined) {
      if (child.exitCode !== null) throw new Error(`${spec.args.join(" ")} exited with ${child.exitCode}:\n${stderr}`);
      if (performance.now() - started > START_TIMEOUT_MS) throw new Error(`not ready after ${START_TIMEOUT_MS} ms:\n${stderr}`);
      const ok = await fetch(base + spec.readyPath).then(
        async (r) => (await r.arrayBuffer(), r.status === 200),
        () => false,
      );
      if (ok) {
        readyMs = performance.now() - started;
        cpuMs = cpuMsOf(child.pid!);
      } else await sleep(10);
    }
    for (let i = 0; i < 10; i++) {
      for (const p of spec.warmPaths) await (await fetch(base + p)).arrayBuffer();
    }
    await sleep(SETTLE_MS);
    const mem = memoryMbOf(child.pid!);
    return { readyMs, cpuMs, idleRssMb: mem.rss, peakRssMb: mem.hwm };
  } finally {
    await stop(child);
  }
}

export interface StartupOptions {
  /** The checkout whose dist/ is measured (default: this one). */
  serviceRoot?: string;
  /** PostgreSQL server (any database on it) for the PostgreSQL rows; omitted: embedded only. */
  databaseUrl?: string | undefined;
  /** Embedded rows (default true). */
  embedded?: boolean;
  runs?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

type Row = "anchor" | "embedded first" | "embedded second" | "postgres first" | "postgres second";

async function withAdmin<T>(adminUrl: string, fn: (sql: (q: string) => Promise<unknown>) => Promise<T>): Promise<T> {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn((q) => client.query(q));
  } finally {
    await client.end();
  }
}

/** Runs the rounds and returns the samples of each row. */
export async function startupSamples(opts: StartupOptions = {}): Promise<Map<Row, StartSample[]>> {
  const root = path.resolve(opts.serviceRoot ?? ROOT);
  const server = path.join(root, "dist/src/server.js");
  if (!existsSync(server)) throw new Error(`${server} is missing: run \`npm run build\` first`);
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const samples = new Map<Row, StartSample[]>();
  const record = (row: Row, s: StartSample) => {
    samples.set(row, [...(samples.get(row) ?? []), s]);
    log(`  ${row.padEnd(16)} ready ${s.readyMs.toFixed(0).padStart(6)} ms  cpu ${s.cpuMs.toFixed(0).padStart(6)} ms  idle RSS ${s.idleRssMb.toFixed(0)} MB  peak ${s.peakRssMb.toFixed(0)} MB`);
  };
  const serviceEnv = { LOG_LEVEL: "warn", RATE_LIMITS: "off", HOST: "127.0.0.1" };
  const service = (env: Record<string, string>): StartSpec => ({
    command: process.execPath,
    args: [server],
    cwd: root,
    env: { ...serviceEnv, ...env },
    readyPath: "/ready",
    warmPaths: ["/health", "/ready", "/.well-known/jwks.json"],
  });
  const anchor: StartSpec = {
    command: process.execPath,
    args: ["--input-type=module", "-e", BARE_FASTIFY],
    cwd: root,
    env: {},
    readyPath: "/hello",
    warmPaths: ["/hello"],
  };
  const runs = opts.runs ?? 3;
  for (let round = 1; round <= runs; round++) {
    log(`startup round ${round}/${runs}`);
    record("anchor", await measureStart(anchor));
    if (opts.embedded !== false) {
      const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-startup-"));
      try {
        record("embedded first", await measureStart(service({ DATA_DIR: dataDir })));
        record("embedded second", await measureStart(service({ DATA_DIR: dataDir })));
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
    if (opts.databaseUrl) {
      const name = `vidivo_startup_${process.pid}_${round}`;
      const url = new URL(opts.databaseUrl);
      url.pathname = `/${name}`;
      const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-startup-"));
      await withAdmin(opts.databaseUrl, (sql) => sql(`CREATE DATABASE ${name}`));
      try {
        const env = { DATA_DIR: dataDir, DATABASE_URL: url.toString() };
        record("postgres first", await measureStart(service(env)));
        record("postgres second", await measureStart(service(env)));
      } finally {
        await withAdmin(opts.databaseUrl, (sql) => sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
  return samples;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const LABELS: Record<Row, string> = {
  anchor: "bare Fastify hello",
  "embedded first": "embedded, first start (empty DATA_DIR)",
  "embedded second": "embedded, second start (same DATA_DIR)",
  "postgres first": "PostgreSQL, first start (fresh database)",
  "postgres second": "PostgreSQL, second start",
};

/** The markdown table of startupSamples' medians, with each row's ratio to the bare Fastify hello. */
export function startupTable(samples: Map<Row, StartSample[]>): string {
  const med = (row: Row, k: keyof StartSample) => median((samples.get(row) ?? []).map((s) => s[k]));
  const runs = samples.get("anchor")?.length ?? 0;
  const out = [
    `\nStart-up (compiled service, median of ${runs}; ready = first 200 from GET /ready, which queries the database; CPU = user + system time used by then; idle RSS after 30 requests and ${SETTLE_MS / 1000} s idle):\n`,
    "| start | ready ms | CPU ms | idle RSS MB | peak RSS MB | × bare Fastify (ready \\| CPU \\| idle RSS) |",
    "|---|---|---|---|---|---|",
  ];
  for (const row of Object.keys(LABELS) as Row[]) {
    if (!samples.has(row)) continue;
    const ratio = (k: keyof StartSample) => (med(row, k) / med("anchor", k)).toFixed(1);
    const ratios = row === "anchor" ? "" : `${ratio("readyMs")} \\| ${ratio("cpuMs")} \\| ${ratio("idleRssMb")}`;
    out.push(`| ${LABELS[row]} | ${med(row, "readyMs").toFixed(0)} | ${med(row, "cpuMs").toFixed(0)} | ${med(row, "idleRssMb").toFixed(0)} | ${med(row, "peakRssMb").toFixed(0)} | ${ratios} |`);
  }
  return out.join("\n");
}

/** For `npm run bench`: the samples of every row, as a markdown table. */
export async function startupBenchmark(opts: StartupOptions = {}): Promise<string> {
  return startupTable(await startupSamples(opts));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values: args } = parseArgs({
    options: {
      runs: { type: "string", default: "3" },
      db: { type: "string", default: "both" },
      service: { type: "string" },
    },
  });
  const db = args.db as "embedded" | "postgres" | "both";
  console.log(
    await startupBenchmark({
      runs: Number(args.runs),
      embedded: db !== "postgres",
      databaseUrl: db === "embedded" ? undefined : (process.env.DATABASE_URL ?? DEV_DATABASE_URL),
      ...(args.service ? { serviceRoot: args.service } : {}),
    }),
  );
}
