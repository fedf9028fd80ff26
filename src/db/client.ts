// Opens the database: embedded PGlite in $DATA_DIR/pg by default (see pglite.ts), PostgreSQL when
// DATABASE_URL is set. Both are reached through Prisma driver adapters (no native engine). The
// committed SQL migrations are applied before the client is handed out.
import { PrismaClient } from "./generated/client.ts";
import { migrate, type SqlSession } from "./migrate.ts";
import { openPglite, pgliteSession } from "./pglite.ts";

export type Db = PrismaClient;

export interface Database {
  prisma: PrismaClient;
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
      query: async (sql, params) => (await client.query(sql, params as unknown[])).rows,
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
    const { PrismaPg } = await import("@prisma/adapter-pg");
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: opts.databaseUrl }) });
    await prisma.$connect();
    return { prisma, kind: "postgres", close: () => prisma.$disconnect() };
  }
  // PGlite is one in-process connection: migrations and Prisma share it.
  const pglite = await openPglite(opts.dataDir);
  await migrate(pgliteSession(pglite));
  const { PrismaPGlite } = await import("pglite-prisma-adapter");
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  await prisma.$connect();
  return {
    prisma,
    kind: "pglite",
    close: async () => {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}
