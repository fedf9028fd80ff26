// npm run migrate: apply the committed SQL migrations to the configured database (PGlite in
// $DATA_DIR/pg, or DATABASE_URL). Safe to run while other instances start (advisory lock).
import { loadConfig } from "../src/config.ts";
import { openSqlSession } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";

const config = loadConfig();
const session = await openSqlSession({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
try {
  const applied = await migrate(session);
  console.log(applied.length ? `applied: ${applied.join(", ")}` : "database is up to date");
} finally {
  await session.close();
}
