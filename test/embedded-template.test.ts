// The embedded database's first start from the build's template (src/db/pglite.ts): an empty
// DATA_DIR gets a copy of a migrated database, which the migration runner then finds complete; a
// template made with other migrations (or another PGlite) is not used.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { openSqlSession } from "../src/db/client.ts";
import { listMigrations, migrate } from "../src/db/migrate.ts";
import { seedEmbeddedDatabase, writePgliteTemplate } from "../src/db/pglite.ts";

const tmp = (t: { teardown(fn: () => void): void }) => {
  const dir = mkdtempSync(path.join(tmpdir(), "vidivo-template-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

t.test("a first start copies the template; later starts and stale templates leave the directory alone", async (t) => {
  const template = path.join(tmp(t), "template");
  await writePgliteTemplate(template);
  const names = listMigrations().map((m) => m.name);

  const dataDir = tmp(t);
  t.equal(await seedEmbeddedDatabase(dataDir, template), true, "an empty DATA_DIR is seeded");
  t.same(readdirSync(dataDir), ["pg"], "nothing but the database is left beside it");
  const session = await openSqlSession({ databaseUrl: undefined, dataDir });
  t.same(await migrate(session), [], "every migration is there already");
  const rows = await session.query(`SELECT name FROM "_migrations" ORDER BY name`);
  t.same(rows.map((r) => r.name), names);
  await session.exec(`INSERT INTO "_migrations" ("name", "checksum") VALUES ('zz_marker', 'x')`);
  await session.close();
  t.equal(await seedEmbeddedDatabase(dataDir, template), false, "an existing database is never replaced");
  const again = await openSqlSession({ databaseUrl: undefined, dataDir });
  t.same((await again.query(`SELECT count(*)::int AS n FROM "_migrations" WHERE name = 'zz_marker'`))[0], { n: 1 });
  await again.close();

  writeFileSync(path.join(template, ".vidivo-template"), "made with other migrations");
  t.equal(await seedEmbeddedDatabase(tmp(t), template), false, "a stale template is not copied");
  t.equal(await seedEmbeddedDatabase(tmp(t), path.join(template, "missing")), false, "nor a missing one");
});
