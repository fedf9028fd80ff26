// Applies the committed SQL migrations (prisma/migrations/<timestamp>_<name>/migration.sql) in
// order, each in its own transaction, under a PostgreSQL advisory lock so that two instances
// starting at once apply each migration exactly once. Applied migrations are recorded with a
// checksum; an edited, already-applied migration stops the start-up. A database that has them all
// costs one SELECT and no lock.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface SqlSession {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));
const LOCK_ID = 727_001; // any constant shared by every instance of this service

export function listMigrations(dir = MIGRATIONS_DIR): { name: string; sql: string; checksum: string }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

/** The applied migrations (name → checksum); null when none was ever recorded here. */
async function appliedMigrations(db: SqlSession): Promise<Map<string, string> | null> {
  let rows: Record<string, unknown>[];
  try {
    rows = await db.query(`SELECT "name", "checksum" FROM "_migrations"`);
  } catch {
    return null;
  }
  return new Map(rows.map((r) => [String(r.name), String(r.checksum)]));
}

/** The migrations not applied yet, in order; an applied one whose file changed stops the start-up. */
function pending(files: ReturnType<typeof listMigrations>, done: Map<string, string>) {
  return files.filter((m) => {
    const prior = done.get(m.name);
    if (prior === undefined) return true;
    if (prior !== m.checksum) throw new Error(`migration ${m.name} was changed after it was applied`);
    return false;
  });
}

/** Returns the names of the migrations this call applied. */
export async function migrate(db: SqlSession, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = listMigrations(dir);
  // Every start but the first: all applied already, which one read shows without taking the lock.
  const seen = await appliedMigrations(db);
  if (seen && pending(files, seen).length === 0) return [];

  const applied: string[] = [];
  await db.query("SELECT pg_advisory_lock($1)", [LOCK_ID]);
  try {
    await db.exec(`CREATE TABLE IF NOT EXISTS "_migrations" (
      "name" text PRIMARY KEY, "checksum" text NOT NULL, "applied_at" timestamptz NOT NULL DEFAULT now())`);
    // Read again under the lock: another instance may have applied some meanwhile.
    for (const m of pending(files, (await appliedMigrations(db)) ?? new Map())) {
      await db.exec("BEGIN");
      try {
        await db.exec(m.sql);
        await db.query(`INSERT INTO "_migrations" ("name", "checksum") VALUES ($1, $2)`, [m.name, m.checksum]);
        await db.exec("COMMIT");
      } catch (err) {
        await db.exec("ROLLBACK");
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(m.name);
    }
  } finally {
    await db.query("SELECT pg_advisory_unlock($1)", [LOCK_ID]);
  }
  return applied;
}
