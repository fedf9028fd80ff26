// The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in $DATA_DIR/pg, in this process.
//
// PGlite's first start on an empty directory runs initdb in WebAssembly: seconds of CPU and, until
// the collector returns it, several hundred MB of memory. The build therefore leaves a ready data
// directory (initdb done, the migrations applied) beside the compiled server, and a first start
// copies it instead; without one (running from source), PGlite runs initdb as before. This module
// loads neither PGlite nor Prisma until asked, so the entry point can seed the directory early.
import { createHash } from "node:crypto";
import { constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { copyFile, mkdir, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import { listMigrations, migrate, type SqlSession } from "./migrate.ts";

/** The ready data directory the build leaves beside the compiled server (dist/pglite-template). */
export const PGLITE_TEMPLATE_DIR = fileURLToPath(new URL("../../pglite-template", import.meta.url));
const TEMPLATE_STAMP = ".vidivo-template";

/**
 * PGlite is one session inside this process: initdb's 128 MB of shared buffers are resident memory
 * from the start (measured: 16 MB saves about 115 MB of RSS) and buy nothing at this scale.
 */
const PGLITE_SETTINGS = ["-c", "shared_buffers=16MB"];

async function createPglite(dir: string): Promise<PGlite> {
  const { PGlite } = await import("@electric-sql/pglite");
  return PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS] });
}

/**
 * What a template must have been made with to be copied: this PGlite (its data directory format)
 * and these migrations (a template's applied ones are checked against the files like any database's).
 */
function templateStamp(): string {
  const require = createRequire(import.meta.url);
  const pkg = path.join(path.dirname(require.resolve("@electric-sql/pglite")), "..", "package.json");
  const version = (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version;
  const migrations = listMigrations().map((m) => `${m.name}:${m.checksum}`);
  return createHash("sha256").update(JSON.stringify({ pglite: version, migrations })).digest("hex");
}

/** Copies a directory tree, file by file (a copy-on-write clone where the filesystem offers one). */
async function copyTree(from: string, to: string, skip: (name: string) => boolean): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (skip(entry.name)) continue;
    const [src, dst] = [path.join(from, entry.name), path.join(to, entry.name)];
    if (entry.isDirectory()) await copyTree(src, dst, skip);
    else await copyFile(src, dst, constants.COPYFILE_FICLONE);
  }
}

/**
 * Fills $DATA_DIR/pg from the build's template when it is absent or empty and the template is
 * current; resolves false when it did not (PGlite then runs initdb). The copy is asynchronous, so
 * that the entry point can run it while the rest of the service loads.
 */
export async function seedEmbeddedDatabase(dataDir: string, template = PGLITE_TEMPLATE_DIR): Promise<boolean> {
  const dir = path.join(dataDir, "pg");
  if (existsSync(dir) && readdirSync(dir).length > 0) return false;
  let stamp: string;
  try {
    stamp = readFileSync(path.join(template, TEMPLATE_STAMP), "utf8");
  } catch {
    return false;
  }
  if (stamp !== templateStamp()) return false;
  // Copied beside the target and renamed into place: a start interrupted mid-copy leaves no
  // half-made database behind (rename replaces the empty directory, if there is one), and the next
  // start clears what it left (one process per data directory).
  mkdirSync(dataDir, { recursive: true });
  const tmp = `${dir}.seeding`;
  rmSync(tmp, { recursive: true, force: true });
  await copyTree(template, tmp, (name) => name === TEMPLATE_STAMP);
  renameSync(tmp, dir);
  return true;
}

export async function openPglite(dataDir: string): Promise<PGlite> {
  const dir = path.join(dataDir, "pg");
  if (!(await seedEmbeddedDatabase(dataDir))) mkdirSync(dir, { recursive: true });
  return createPglite(dir);
}

/** Makes `dir` a template: a new database, migrated, closed, stamped. Run by the build. */
export async function writePgliteTemplate(dir = PGLITE_TEMPLATE_DIR): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pglite = await createPglite(dir);
  try {
    await migrate(pgliteSession(pglite));
  } finally {
    await pglite.close();
  }
  writeFileSync(path.join(dir, TEMPLATE_STAMP), templateStamp());
}

export function pgliteSession(pglite: PGlite): SqlSession {
  return {
    query: async <T>(sql: string, params?: unknown[]) => (await pglite.query<T>(sql, params)).rows,
    exec: async (sql) => void (await pglite.exec(sql)),
  };
}
