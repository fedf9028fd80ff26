// Process entry: read the configuration, build the app, listen, and close gracefully on SIGTERM.
// The service's modules are loaded after the configuration is read, while the slow parts of a
// first start that need no JavaScript run beside them: the embedded database is copied from the
// build's template and the development key is generated (file copies and RSA key generation on
// libuv's worker threads).
import closeWithGrace from "close-with-grace";
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
  // Tracing (src/telemetry.ts): the SDK is loaded only when an endpoint is set, and started before
  // the service's modules load, so that http, pg and ioredis are instrumented when first required.
  const telemetry = config.otel ? (await import("./telemetry.ts")).startTelemetry(config.otel) : undefined;
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

  // SIGTERM, SIGINT (and the other terminating signals but SIGUSR2, which profilers and
  // heap-snapshot tools send), an uncaught exception or an unhandled rejection: close gracefully
  // within 10 s (exit 0 after a signal, 1 after an error or a timeout). A second signal exits at once.
  const log = app.log;
  const options = { delay: 10_000, skip: ["SIGUSR2" as const], logger: { error: (msg: unknown) => log.error(msg) } };
  closeWithGrace(options, async ({ signal, err }) => {
    if (err) log.error({ err }, "shutting down after an uncaught error");
    else log.info({ signal }, "shutting down");
    await app.close();
    // Tracing: the last requests' spans are exported; a collector that is down costs at most 5 s, not the exit code.
    await telemetry?.shutdown().catch((err: unknown) => log.warn({ err }, "traces not exported"));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
