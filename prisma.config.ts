// Prisma CLI configuration. The app never reads it: it connects through a driver adapter
// (src/db/client.ts) and applies the committed SQL migrations itself (scripts/migrate.ts).
// `prisma generate` needs no database. Prisma 7 runs `prisma migrate diff` in its native schema
// engine, which it downloads on first use; it reads the datasource below when a database is needed.
import { defineConfig } from "prisma/config";

// The CLI checks for the native schema engine even for `prisma generate`, which does not use it;
// point the check at a file that exists so generate never tries to download it (this machine has
// no route to that host). Unset it to let `prisma migrate diff` fetch the real engine.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= "prisma/schema.prisma";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL, shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL },
});
