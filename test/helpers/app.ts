// The test app: a real buildApp over a fresh database (embedded PGlite in a temporary DATA_DIR, or
// a new database on the PostgreSQL named by DATABASE_URL), a manual clock, cheap argon2, and the
// contract observer on every response.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import type { FastifyInstance, InjectOptions } from "fastify";
import pg from "pg";
import { buildApp, type AppOverrides } from "../../src/app.ts";
import { openDatabase, type Database } from "../../src/db/client.ts";
import { loadConfig, type Config, type RateLimits } from "../../src/config.ts";
import { ManualClock } from "../../src/domain/ports/clock.ts";
import { loadContract } from "../../src/contract/spec.ts";
import { contractObserver } from "./contract.ts";

type Tap = { teardown(fn: () => unknown): void; fail(msg: string): void };

/** Generous limits so that only the rate-limit tests meet them. */
export const relaxedLimits: Partial<RateLimits> = {
  login: { max: 10_000, windowMs: 60_000 },
  register: { max: 10_000, windowMs: 60_000 },
  passwordReset: { max: 10_000, windowMs: 60_000 },
  authenticated: { max: 10_000, windowMs: 60_000 },
  anonymous: { max: 10_000, windowMs: 60_000 },
};

export const CHEAP_ARGON2 = { ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1", ARGON2_PARALLELISM: "1" };

/**
 * Load shedding off: a test machine running suites side by side (and PGlite, whose queries run on
 * the event loop) lags as a production instance should not. test/hardening.test.ts turns it on.
 */
export const NO_SHEDDING = { PRESSURE_MAX_EVENT_LOOP_DELAY_MS: "0" };

export interface TestApp {
  app: FastifyInstance;
  clock: ManualClock;
  config: Config;
  dataDir: string;
}

/** A fresh PostgreSQL database for one test file when DATABASE_URL is set (CI); else undefined. */
export async function freshDatabaseUrl(t: Tap): Promise<string | undefined> {
  const admin = process.env.DATABASE_URL;
  if (!admin) return undefined;
  const name = `test_${randomBytes(6).toString("hex")}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  t.teardown(async () => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * One database opened by the test itself (a fresh PostgreSQL database or PGlite in a temporary
 * directory), for app instances that share it through `overrides.database` or that wrap its client.
 * Closed after the apps (teardowns run last-registered first).
 */
export async function sharedDatabase(t: Tap, prefix: string): Promise<{ database: Database; dataDir: string; databaseUrl: string | undefined }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const databaseUrl = await freshDatabaseUrl(t);
  const database = await openDatabase({ databaseUrl, dataDir });
  t.teardown(() => database.close());
  return { database, dataDir, databaseUrl };
}

export async function testApp(
  t: Tap,
  opts: {
    env?: Record<string, string>;
    overrides?: AppOverrides;
    dataDir?: string;
    databaseUrl?: string;
    /** Runs before app.ready() (hooks can still be added). */
    beforeReady?: (app: FastifyInstance) => void;
  } = {},
): Promise<TestApp> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), "vidivo-test-"));
  if (!opts.dataDir) t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const databaseUrl = opts.databaseUrl ?? (await freshDatabaseUrl(t));
  const config = loadConfig({
    NODE_ENV: "test",
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    PUBLIC_URL: "http://media.test",
    ...CHEAP_ARGON2,
    ...NO_SHEDDING,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...opts.env,
  });
  const clock = new ManualClock(new Date());
  const contract = await loadContract();
  const app = await buildApp(config, {
    clock,
    rateLimits: relaxedLimits,
    onResponse: contractObserver(
      contract,
      (problems) => t.fail(`request or response breaks openapi.yaml:\n${problems.join("\n")}`),
      config.rateLimits.enabled && opts.overrides?.rateLimits?.enabled !== false,
    ),
    ...opts.overrides,
  });
  opts.beforeReady?.(app);
  await app.ready();
  t.teardown(() => app.close());
  return { app, clock, config, dataDir };
}

/** A log destination for `overrides.logStream` that keeps every line written. */
export function captureLogs() {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logStream };
}

/**
 * app.inject for any operation: a response that stays open (the live channel, text/event-stream)
 * is left once its status and headers are in, as a client that disconnects; any other answer is read whole.
 */
export async function injectOnce(app: FastifyInstance, req: InjectOptions) {
  const leave = new AbortController();
  const res = await app.inject({ ...req, payloadAsStream: true, signal: leave.signal });
  const open = String(res.headers["content-type"] ?? "").startsWith("text/event-stream");
  const chunks: Buffer[] = [];
  if (open) leave.abort();
  else for await (const chunk of res.stream()) chunks.push(Buffer.from(chunk as Buffer));
  // Decoded whole: a character split across two chunks stays one character.
  const body = Buffer.concat(chunks).toString("utf8");
  return { statusCode: res.statusCode, headers: res.headers, body, json: () => JSON.parse(body) as unknown };
}

/** The tables of the database's schema, by name. */
export async function tableNames(app: FastifyInstance): Promise<string[]> {
  // As text: the driver adapters cannot read every column type (`name`, for one).
  const rows = await app.db.$queryRawUnsafe<{ name: string }[]>(
    "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
  );
  return rows.map((r) => r.name);
}

/** Every row of every table but `except`, as JSON text, sorted: a whole picture of what is stored. */
export async function everyRow(app: FastifyInstance, except: Set<string>): Promise<Record<string, string[]>> {
  const rows: Record<string, string[]> = {};
  for (const table of (await tableNames(app)).filter((name) => !except.has(name))) {
    const all = await app.db.$queryRawUnsafe<{ row: string }[]>(`SELECT row_to_json(t)::text AS row FROM "${table}" t`);
    rows[table] = all.map((r) => r.row).sort();
  }
  return rows;
}
