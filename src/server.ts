// Process entry: read the configuration, build the app, listen, and close gracefully on SIGTERM.
// The service's modules are loaded after the configuration is read, while the slow parts of a
// first start that need no JavaScript run beside them: the embedded database is copied from the
// build's template and the development key is generated (file copies and RSA key generation on
// libuv's worker threads).
import { ConfigError, loadConfig } from "./config.ts";
import { seedEmbeddedDatabase } from "./db/pglite.ts";
import { KeyConfigError, prepareDevKey } from "./domain/keys.ts";

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) console.error(`config: ${p}`);
      process.exit(1);
    }
    throw err;
  }
  let app;
  try {
    const firstStartWork = Promise.all([
      config.databaseUrl ? undefined : seedEmbeddedDatabase(config.dataDir),
      prepareDevKey({ env: config.env, dataDir: config.dataDir, ...config.jwt }),
    ]);
    const loading = import("./app.ts");
    loading.catch(() => {}); // awaited below, once the first-start work has settled
    await firstStartWork;
    const { buildApp } = await loading;
    app = await buildApp(config);
  } catch (err) {
    if (err instanceof KeyConfigError) {
      console.error(`config: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  await app.listen({ port: config.port, host: config.host });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      app.log.error("shutdown took longer than 10 s; exiting");
      process.exit(1);
    }, 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, "error during shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
