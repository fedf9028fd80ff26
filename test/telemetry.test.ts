// Tracing as an operator turns it on: the server process with OTEL_EXPORTER_OTLP_ENDPOINT pointing
// at a collector stand-in (OTLP/HTTP, JSON bodies) exports, for a request, one trace holding the
// HTTP server span, the Fastify request and handler spans (naming the route) and the database
// statements' spans (PGlite's, or pg's with DATABASE_URL), each the child of the one before; the
// request's log line carries its trace id. Without the variable no OpenTelemetry SDK module is
// loaded and nothing is exported. Spans are exported by the SIGTERM shutdown.
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { freshDatabaseUrl } from "./helpers/app.ts";
import { startServer, type ServerProcess } from "./helpers/process.ts";
import { NO_REDIS_SERVER, ownRedis } from "./helpers/redis.ts";

const SERVER = 2; // OTLP span kinds
const CLIENT = 3;

interface Span {
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

type AnyValue = Record<string, unknown>;
type KeyValue = { key: string; value: AnyValue };
interface ExportRequest {
  resourceSpans: {
    resource: { attributes: KeyValue[] };
    scopeSpans: { scope: { name: string }; spans: (Omit<Span, "scope" | "attributes"> & { attributes?: KeyValue[] })[] }[];
  }[];
}

const attributes = (kvs: KeyValue[] = []) => Object.fromEntries(kvs.map(({ key, value }) => [key, Object.values(value)[0]]));

/** An OTLP/HTTP receiver on a free port: what was posted where, and the spans of the trace requests. */
async function collector(t: Test) {
  const posts: { path: string; contentType: string | undefined }[] = [];
  const spans: Span[] = [];
  const services = new Set<unknown>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      posts.push({ path: req.url ?? "", contentType: req.headers["content-type"] });
      if (req.method !== "POST" || req.url !== "/v1/traces" || req.headers["content-type"] !== "application/json") {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ExportRequest;
      for (const rs of body.resourceSpans) {
        services.add(attributes(rs.resource.attributes)["service.name"]);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) spans.push({ ...s, scope: ss.scope.name, parentSpanId: s.parentSpanId ?? "", attributes: attributes(s.attributes) });
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, posts, spans, services };
}

/**
 * NODE_OPTIONS for a server process that writes, as it exits, how many OpenTelemetry SDK and
 * instrumentation modules it loaded (@opentelemetry/api excepted: the service's own spans and log
 * lines use it, and it does nothing until an SDK registers).
 */
function countSdkModulesAtExit(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), "vidivo-otel-probe-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const probe = path.join(dir, "probe.cjs");
  writeFileSync(
    probe,
    `process.on("exit", () => {
      const sdk = Object.keys(require.cache).filter((f) => /[\\\\/]node_modules[\\\\/](@opentelemetry[\\\\/](?!api[\\\\/])|@fastify[\\\\/]otel[\\\\/])/.test(f));
      process.stderr.write("sdk modules loaded: " + sdk.length + "\\n");
    });`,
  );
  return `--require ${probe}`;
}
const sdkModulesLoaded = (server: ServerProcess) => Number(/sdk modules loaded: (\d+)/.exec(server.output())?.[1] ?? NaN);

/** The JSON log lines the process wrote. */
const logLines = (server: ServerProcess) =>
  server
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** The file's one embedded database: its servers run one after another, and only the first pays for PGlite's initdb. */
const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-otel-"));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

/** The server with `env`, on a fresh PostgreSQL database when the suite runs with DATABASE_URL, else on the embedded one. */
async function serve(t: Test, env: Record<string, string>) {
  const databaseUrl = await freshDatabaseUrl(t);
  const server = await startServer(t, { DATA_DIR: dataDir, ...env, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
  return { server, databaseUrl };
}

/** A new account (its own e-mail: the embedded database is shared), then GET /v1/users/me as it. */
async function registerAndGetMe(base: string, email: string) {
  const registered = await fetch(`${base}/v1/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "correct horse battery" }),
  });
  const session = (await registered.json()) as { access_token: string };
  const me = await fetch(`${base}/v1/users/me`, { headers: { authorization: `Bearer ${session.access_token}` } });
  await me.arrayBuffer();
  // A credential in a query, as the signaling socket takes it (refused here: not a signaling token).
  await (await fetch(`${base}/ws?token=${session.access_token}`)).arrayBuffer();
  return { registered: registered.status, me: me.status, requestId: me.headers.get("x-request-id") };
}

/** The spans of the trace exported for GET /v1/users/me, checked link by link; returns its spans. */
function meTrace(t: Test, spans: Span[]): Span[] {
  const server = spans.find((s) => s.kind === SERVER && s.attributes["url.path"] === "/v1/users/me");
  if (!server) {
    t.fail("an HTTP server span for GET /v1/users/me", { spans: spans.map((s) => s.name) });
    return [];
  }
  t.equal(server.scope, "@opentelemetry/instrumentation-http", "the HTTP server span comes from the http instrumentation");
  t.equal(server.name, "GET /v1/users/me", "named by its route");
  t.equal(server.parentSpanId, "", "it is the trace's root");
  const trace = spans.filter((s) => s.traceId === server.traceId);
  const request = trace.find((s) => s.scope === "@fastify/otel" && s.name === "request");
  t.ok(request, "a Fastify request span in the same trace");
  t.equal(request?.attributes["http.route"], "/v1/users/me", "naming the route");
  t.equal(request?.parentSpanId, server.spanId, "a child of the HTTP server span");
  const handler = trace.find((s) => s.scope === "@fastify/otel" && s.attributes["fastify.type"] === "request-handler");
  t.ok(handler, "a span for the route's handler");
  t.equal(handler?.attributes["http.route"], "/v1/users/me");
  t.equal(handler?.parentSpanId, request?.spanId, "a child of the request span");
  const statements = trace.filter((s) => s.attributes["db.system.name"] === "postgresql" && typeof s.attributes["db.query.text"] === "string");
  t.ok(statements.length > 0, "database statements are spans of the trace");
  const fastifySpans = new Set([request?.spanId, handler?.spanId]);
  t.ok(
    statements.every((s) => s.kind === CLIENT && fastifySpans.has(s.parentSpanId)),
    "each a client span, the child of the request's or its handler's span",
  );
  t.ok(
    statements.some((s) => /\bFROM\b.*\busers\b/.test(String(s.attributes["db.query.text"]))),
    "the account is read from the users table",
  );
  return trace;
}

t.test("OTEL_EXPORTER_OTLP_ENDPOINT: a request's trace reaches the collector, its log line names the trace", async (t) => {
  const otlp = await collector(t);
  const { server, databaseUrl } = await serve(t, {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_SERVICE_NAME: "vidivo-test",
    LOG_LEVEL: "info",
    NODE_OPTIONS: countSdkModulesAtExit(t),
  });
  const email = "ann@example.com";
  const { registered, me, requestId } = await registerAndGetMe(server.base, email);
  t.equal(registered, 201);
  t.equal(me, 200);
  server.child.kill("SIGTERM");
  t.equal(await server.exited, 0, "graceful exit, spans flushed");

  t.ok(otlp.posts.length > 0, "spans were exported");
  t.same(new Set(otlp.posts.map((p) => `${p.path} ${p.contentType}`)), new Set(["/v1/traces application/json"]), "to /v1/traces only, as JSON (no metrics, no logs)");
  t.same([...otlp.services], ["vidivo-test"], "under OTEL_SERVICE_NAME");
  const expectedDbScope = databaseUrl ? "@opentelemetry/instrumentation-pg" : "vidivo.pglite";
  const trace = meTrace(t, otlp.spans);
  t.ok(
    trace.some((s) => s.scope === expectedDbScope && s.attributes["db.system.name"] === "postgresql"),
    `the statements' spans come from ${expectedDbScope}`,
  );
  t.notOk(JSON.stringify(otlp.spans).includes(email), "statements are exported without their parameter values");
  t.notOk(JSON.stringify(otlp.spans).includes("correct horse"), "no password in any span");
  const wsSpans = otlp.spans.filter((s) => String(s.attributes["url.path"] ?? "").startsWith("/ws"));
  t.ok(wsSpans.length >= 2, "the request with ?token= was traced (HTTP and Fastify spans)");
  t.notOk(JSON.stringify(otlp.spans).includes("eyJ"), "no token in any span (query values redacted, url.path without its query)");

  const line = logLines(server).find((l) => l.msg === "request completed" && l.request_id === requestId);
  t.ok(line, "the access log line of GET /v1/users/me (by the X-Request-ID the response gave)");
  t.equal(line?.trace_id, trace[0]?.traceId, "carries the request's trace id");
  t.ok(trace.some((s) => s.spanId === line?.span_id), "and the id of one of its spans");
  t.ok(sdkModulesLoaded(server) > 0, "the SDK was loaded (the probe sees it)");
});

t.test("with Redis, its commands (ioredis, imported as an ES module) are spans of the request", { skip: NO_REDIS_SERVER }, async (t) => {
  const otlp = await collector(t);
  const redis = await ownRedis(t);
  const { server } = await serve(t, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, REDIS_URL: redis.url });
  const { me } = await registerAndGetMe(server.base, "bob@example.com");
  t.equal(me, 200);
  server.child.kill("SIGTERM");
  t.equal(await server.exited, 0);
  const trace = meTrace(t, otlp.spans);
  const commands = trace.filter((s) => s.scope === "@opentelemetry/instrumentation-ioredis");
  t.ok(commands.length > 0, "the rate-limit counter's command is a span of the trace");
  const parents = new Set(trace.map((s) => s.spanId));
  t.ok(
    commands.every((s) => s.kind === CLIENT && s.attributes["db.system.name"] === "redis" && parents.has(s.parentSpanId)),
    "a client span with a parent in the trace",
  );
});

t.test("without OTEL_EXPORTER_OTLP_ENDPOINT: no SDK module is loaded, nothing is exported, no trace id is logged", async (t) => {
  const otlp = await collector(t);
  const { server } = await serve(t, {
    // What the SDK would read if it were started: it is not.
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.url}/v1/traces`,
    LOG_LEVEL: "info",
    NODE_OPTIONS: countSdkModulesAtExit(t),
  });
  const { registered, me, requestId } = await registerAndGetMe(server.base, "cleo@example.com");
  t.equal(registered, 201, "the service serves as usual");
  t.equal(me, 200);
  server.child.kill("SIGTERM");
  t.equal(await server.exited, 0);
  t.equal(sdkModulesLoaded(server), 0, "no OpenTelemetry SDK or instrumentation module was loaded");
  t.same(otlp.posts, [], "nothing was exported");
  const line = logLines(server).find((l) => l.msg === "request completed" && l.request_id === requestId);
  t.ok(line, "the access log line has the request id");
  t.notOk(line && "trace_id" in line, "and no trace id");
});
