// Opens the database: embedded PGlite in $DATA_DIR/pg by default (see pglite.ts), PostgreSQL when
// DATABASE_URL is set. Both are reached through Prisma driver adapters (no native engine). The
// committed SQL migrations are applied before the client is handed out.
import { Prisma, PrismaClient } from "./generated/client.ts";
import { migrate, type SqlSession } from "./migrate.ts";
import { openPglite, pgliteSession } from "./pglite.ts";
import { tracedPglite } from "./tracing.ts";

export type Db = PrismaClient;

/**
 * Raw SQL on Prisma's own connections (the pg pool it uses, or the one PGlite connection, where a
 * query waits for an open transaction to finish), for the statements that run at volume (those every
 * request runs, the billing engine's steps):
 * Prisma's JavaScript costs about 4× a raw query's (README, "Performance"). Columns come back under
 * the names the SQL gives them; Prisma stays the owner of the schema and of everything else.
 * Never call it inside a Prisma interactive transaction: on PGlite it would wait for that
 * transaction's end (a deadlock), on PostgreSQL it would run outside it.
 */
export type Sql = Pick<SqlSession, "query">;

/** A tagged template on a `Sql`: composed as `Prisma.sql` composes (nested fragments, join, empty). */
export type SqlTag = <T = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]) => Promise<T[]>;

/** `sqlTag(sql)`\`SELECT … ${value}\``: runs the statement's `$n` text, so that one shape is one named statement. */
export const sqlTag =
  (sql: Sql): SqlTag =>
  <T>(strings: TemplateStringsArray, ...values: unknown[]) => {
    const statement = Prisma.sql(strings, ...values);
    return sql.query<T>(statement.text, statement.values);
  };

/** `column AS "field"` for each field of a model: a raw row then has the shape Prisma's would. */
export const columns = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([field, column]) => (field === column ? column : `${column} AS "${field}"`))
    .join(", ");

export interface Database {
  prisma: PrismaClient;
  sql: Sql;
  kind: "pglite" | "postgres";
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl: string | undefined;
  dataDir: string;
}

/** A single SQL session on the configured database, for migrations and operator scripts. */
export async function openSqlSession(opts: DatabaseOptions): Promise<SqlSession & { close(): Promise<void> }> {
  if (opts.databaseUrl) {
    const pg = await import("pg");
    const client = new pg.default.Client({ connectionString: opts.databaseUrl });
    await client.connect();
    return {
      query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
      exec: async (sql) => void (await client.query(sql)),
      close: () => client.end(),
    };
  }
  const pglite = await openPglite(opts.dataDir);
  return { ...pgliteSession(pglite), close: () => pglite.close() };
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const session = await openSqlSession(opts);
    try {
      await migrate(session);
    } finally {
      await session.close();
    }
    const [{ PrismaPg }, pg] = await Promise.all([import("@prisma/adapter-pg"), import("pg")]);
    const pool = new pg.default.Pool({ connectionString: opts.databaseUrl });
    // An idle connection that fails (a database restart) is reported by the next query that needs
    // one; without a listener its error event would end the process.
    pool.on("error", () => {});
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    await prisma.$connect();
    // Each statement text is prepared once per connection, under a name of its own.
    const names = new Map<string, string>();
    const sql: Sql = {
      async query<T>(text: string, values?: unknown[]) {
        let name = names.get(text);
        if (!name) names.set(text, (name = `vidivo_${names.size + 1}`));
        return (await pool.query({ name, text, values })).rows as T[];
      },
    };
    return {
      prisma,
      sql,
      kind: "postgres",
      close: async () => {
        try {
          await prisma.$disconnect();
        } finally {
          await pool.end();
        }
      },
    };
  }
  // PGlite is one in-process connection: migrations and Prisma share it (through a handle that
  // makes a span of each statement when tracing is on: pg's are made by its instrumentation).
  const pglite = await openPglite(opts.dataDir);
  const traced = tracedPglite(pglite);
  const session = pgliteSession(traced);
  await migrate(session);
  const { PrismaPGlite } = await import("pglite-prisma-adapter");
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(traced) });
  await prisma.$connect();
  return {
    prisma,
    sql: session,
    kind: "pglite",
    close: async () => {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}
