// buildApp(config, overrides) → a Fastify instance. The one wiring place: configuration, the
// outside world (database, storage, clock, keys, rate counters) and the route plugins meet here.
import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import cors from "@fastify/cors";
import compress from "@fastify/compress";
import helmet from "@fastify/helmet";
import underPressure from "@fastify/under-pressure";
import { constants as zlibConstants } from "node:zlib";
import multipart from "@fastify/multipart";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import type { Config, RateLimits } from "./config.ts";
import { loadContract } from "./contract/spec.ts";
import { frameParser, loadSignalingContract, servedDocument } from "./contract/asyncapi.ts";
import { serialized, type JsonBody, type Serialized } from "./contract/types.ts";
import { openDatabase, type Database, type Db, type Sql } from "./db/client.ts";
import { AppError } from "./domain/errors.ts";
import { systemClock, type Clock } from "./domain/ports/clock.ts";
import { loadApplicationKey, loadKeyring, type Keyring } from "./domain/keys.ts";
import { argon2Passwords, type Passwords } from "./domain/passwords.ts";
import { mailerFromConfig, mailQueue, type MailQueue, type Mailer } from "./adapters/mail/index.ts";
import { localStorage } from "./adapters/storage/local.ts";
import { s3Storage } from "./adapters/storage/s3.ts";
import type { Storage } from "./domain/ports/storage.ts";
import { loggerOptions } from "./http/logging.ts";
import rateLimitPlugin from "./plugins/rate-limit.ts";
import metricsPlugin from "./plugins/metrics.ts";
import type { RateCounter } from "./domain/ports/rate-counter.ts";
import { MemoryRateCounter } from "./adapters/rate-counter/memory.ts";
import { openRedis } from "./adapters/redis.ts";
import { RedisRateCounter } from "./adapters/rate-counter/redis.ts";
import { RedisPubSub } from "./adapters/pubsub/redis.ts";
import authPlugin from "./plugins/auth.ts";
import { v1ErrorHandler } from "./routes/v1/errors.ts";
import { vappErrorHandler } from "./routes/vapp/errors.ts";
import notFoundPlugin from "./plugins/not-found.ts";
import systemRoutes from "./routes/system.ts";
import vappRoutes from "./routes/vapp/index.ts";
import v1Routes from "./routes/v1/index.ts";
import websocket from "@fastify/websocket";
import { randomBytes } from "node:crypto";
import { buildServices, type ServiceOverrides, type Services } from "./services.ts";
import { MAX_FRAME_BYTES } from "./domain/signaling.ts";
import signalingRoutes from "./routes/ws/index.ts";
import webRoutes from "./routes/web.ts";

declare module "fastify" {
  interface FastifyInstance {
    config: Config;
    clock: Clock;
    db: Db;
    /** Raw SQL on the same connections (Database.sql), for the statements every request or billing step runs. */
    sql: Sql;
    storage: Storage;
    keyring: Keyring;
    /** Every domain service (src/services.ts). */
    services: Services;
    /** Outgoing mail, delivered in the background (idle() waits for it). */
    mail: MailQueue;
    /** The document as served (GET /v1/openapi.json), written out once. */
    openApiJson: Serialized<JsonBody<"getOpenApiDocument", 200>, string>;
    /** asyncapi.yaml as served (GET /v1/asyncapi.json), its server this deployment, written out once. */
    asyncApiJson: Serialized<JsonBody<"getAsyncApiDocument", 200>, string>;
    routeTable: { method: string; url: string }[];
    readinessChecks(): Promise<ReadinessChecks>;
    /** Tests only (overrides.onResponse): keeps a handler's result before serialization; null otherwise. */
    keepReply: ((req: FastifyRequest, payload: unknown) => void) | null;
  }
}

export interface AppOverrides extends ServiceOverrides {
  clock?: Clock;
  /** Replace the rate-limit numbers (tests use low or high limits). */
  rateLimits?: Partial<RateLimits>;
  passwords?: Passwords;
  storage?: Storage;
  /** Replace the mail driver (default: from the configuration — outbox or SMTP). */
  mailer?: Mailer;
  rateCounter?: RateCounter;
  /**
   * Sees every response before it is sent, with the request body as it arrived (before any route
   * prepared it) and the object the handler answered with (before serialization, which drops
   * fields the schema lacks): the test suite checks all three against openapi.yaml.
   */
  onResponse?: (req: FastifyRequest, reply: FastifyReply, payload: unknown, sentBody: unknown, replied: unknown) => void;
  /** Log destination (tests capture logs to check redaction). */
  logStream?: NodeJS.WritableStream;
  /**
   * An already open database shared by several app instances in one process (tests of two
   * instances over one database, which PGlite allows only within one process). The caller closes it.
   */
  database?: Database;
}

type ReadinessChecks = { database: "ok" | "failed"; redis?: "ok" | "failed"; load: "ok" | "overloaded" };

/** Operations answered even while the instance sheds load: the probes (readiness reports the load itself). */
const NEVER_SHED = new Set<string>(["getHealth", "getVappHealth", "getReady"]);
const PRESSURE_SAMPLE_MS = 1000;
/** The hash of the <style> element Swagger UI's script inserts (test/browser/docs.test.ts fails when a new version changes it). */
const SWAGGER_UI_INLINE_STYLE = "sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w=";

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  const clock = overrides.clock ?? systemClock;
  const contract = await loadContract();
  const limits: RateLimits = { ...config.rateLimits, ...overrides.rateLimits };
  // Errors outside any route (unmatched, refused by the router) are rendered by the surface the path belongs to.
  const renderers = { v1: v1ErrorHandler, vapp: vappErrorHandler };
  const rendererFor = (url: string) => renderers[contract.surfaceOf(url)];

  // Bodies: no coercion, unknown fields are errors. Query/path/header values arrive as strings.
  const ajvOptions = { allErrors: true, strict: false, removeAdditional: false, useDefaults: true } as const;
  const bodyAjv = addFormats.default(new Ajv.default({ ...ajvOptions, coerceTypes: false }));
  const paramAjv = addFormats.default(new Ajv.default({ ...ajvOptions, coerceTypes: "array" }));

  const app = Fastify({
    logger: loggerOptions(config.logLevel, overrides.logStream, { traceIds: config.otel !== undefined }),
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    logController: new LogController({ requestIdLogLabel: "request_id", disableRequestLogging: true }),
    trustProxy: config.trustProxy as boolean | string,
    bodyLimit: config.maxBodyBytes,
    // Requests on connections open when the close begins are served (see the shutdown hooks below).
    return503OnClosing: false,
    forceCloseConnections: "idle",
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // URLs the router refuses before any hook runs (undecodable, a path parameter longer than any
    // id): answered by the surface's renderer like every other error, with the request id.
    frameworkErrors: (error, req, reply) => {
      reply.header("x-request-id", req.id);
      rendererFor(req.url)(error, req, reply);
    },
  });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "body" ? bodyAjv : paramAjv).compile(schema));

  // Vonage mode: the application's key signs the V-app tokens and is published in the JWKS.
  const vonageApplication = config.vonage.application
    ? { id: config.vonage.application.id, key: loadApplicationKey(config.vonage.application) }
    : undefined;
  const keyring = loadKeyring(
    { env: config.env, dataDir: config.dataDir, ...config.jwt, published: vonageApplication?.key },
    (msg) => app.log.warn(msg),
  );
  const storage =
    overrides.storage ??
    (config.storage.driver === "s3" ? s3Storage(config.storage, config.publicUrl) : localStorage(config.dataDir, config.publicUrl));

  app.decorate("config", config);
  app.decorate("clock", clock);
  app.decorate("keyring", keyring);
  app.decorate("storage", storage);
  app.decorate("contract", contract);
  app.decorate("implemented", new Set<string>());
  // Every route any plugin registers, for the spec/route drift check.
  const routeTable: { method: string; url: string }[] = [];
  app.decorate("routeTable", routeTable);
  app.addHook("onRoute", (r) => {
    for (const method of [r.method].flat()) routeTable.push({ method, url: r.url });
  });
  // The document as served names this deployment (PUBLIC_URL) as its server: generated clients
  // take their base URL from it. openapi.yaml's own `servers` is the local default.
  const served = { ...contract.document, servers: [{ url: config.publicUrl, description: "This deployment (PUBLIC_URL)" }] };
  app.decorate("openApiJson", serialized<JsonBody<"getOpenApiDocument", 200>, string>(JSON.stringify(served)));
  const signalingContract = await loadSignalingContract();
  const signaling = servedDocument(signalingContract.document, config.publicUrl);
  app.decorate("asyncApiJson", serialized<JsonBody<"getAsyncApiDocument", 200>, string>(JSON.stringify(signaling)));
  // The database opens (and migrates) before any route is registered.
  const database: Database = overrides.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  if (!overrides.database) app.addHook("onClose", () => database.close());
  const passwords = overrides.passwords ?? argon2Passwords(config.argon2);
  app.decorate("db", database.prisma);
  app.decorate("sql", database.sql);
  // Prometheus metrics (METRICS_PORT), on a listener of their own: app.metrics is what the domain,
  // the mail queue and the rate limits count through (it counts nothing when metrics are off).
  await app.register(metricsPlugin, { listen: config.metrics });
  const mail = mailQueue(overrides.mailer ?? mailerFromConfig(config, clock), (err, what) => app.log.error({ err }, what), app.metrics);
  app.decorate("mail", mail);
  // Registered after the database's onClose hook, so it runs first: queued mail is written out
  // (it reads nothing from the database) before the database closes.
  app.addHook("onClose", () => mail.close());
  // Redis (REDIS_URL): shared rate-limit counters and signaling fan-out. Boot waits two seconds at
  // most for it: without it the service still serves (limits fail open, /ready answers 503).
  const redis = config.redisUrl ? await openRedis(config.redisUrl, { log: app.log, clock }) : undefined;
  if (redis) {
    app.addHook("onClose", () => redis.close());
    if (!(await redis.connected(2000))) app.log.warn("Redis is not reachable yet: rate limits are not enforced until it is");
  }
  const services = buildServices({
    db: database.prisma,
    sql: database.sql,
    clock,
    config,
    storage,
    passwords,
    sendMail: (m) => mail.enqueue(m),
    later: (task) => mail.later(task),
    turnSecret: config.turn.secret ?? randomBytes(32).toString("base64url"),
    signingKid: keyring.current.kid,
    parseFrame: frameParser(signalingContract),
    log: app.log,
    ...(redis ? { pubsub: new RedisPubSub(redis.commands, redis.subscriber, app.log) } : {}),
    metrics: app.metrics,
    vonageApplication,
    overrides,
  });
  app.decorate("services", services);
  app.addHook("onClose", () => services.close());
  app.decorate("readinessChecks", async () => {
    const checks: ReadinessChecks = {
      database: await app.db.$queryRaw`SELECT 1`.then(() => "ok" as const, () => "failed" as const),
      load: overloaded() ? "overloaded" : "ok",
    };
    if (redis) checks.redis = (await redis.reachable()) ? "ok" : "failed";
    return checks;
  });

  // Every response: the request id, CORS, and (in tests) the contract check.
  // Shutdown: once the close begins, no new connection is accepted and every response closes its
  // connection, so that keep-alive connections busy at that moment do not keep the server open
  // once their responses are out. A request already on such a connection is still served: the
  // database closes only after the last connection has.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  // Connections that never sent a byte (a browser's preconnect, a client's spare connection):
  // Node counts them as waiting for headers, not idle, so each would hold the close for
  // headersTimeout (60 s). They are closed once the last step before the server stops listening
  // is done (closeUnusedConnections, below); a request partly received is left to finish.
  const connections = new Set<Socket>();
  app.server.on("connection", (socket: Socket) => {
    connections.add(socket);
    socket.once("close", () => connections.delete(socket));
  });
  const closeUnusedConnections = () => {
    for (const socket of connections) if (socket.bytesRead === 0) socket.destroy();
  };
  // Hooks every request runs are synchronous (an async hook costs a promise per request).
  app.addHook("onSend", (req, reply, payload, done) => {
    reply.header("x-request-id", req.id);
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });
  // One access-log line per request, when it is answered (Fastify's own request logging writes two).
  app.addHook("onResponse", (req, reply, done) => {
    req.log.info({ req, res: reply, responseTime: reply.elapsedTime }, "request completed");
    done();
  });
  if (!overrides.onResponse) app.decorate("keepReply", null);
  else {
    const observe = overrides.onResponse;
    // Application hooks run before a route's own: the body is kept before a route trims a field
    // (a shallow copy: only top-level fields are ever trimmed, and a body may be nested too deep to clone).
    const sentBodies = new WeakMap<FastifyRequest, unknown>();
    const replies = new WeakMap<FastifyRequest, unknown>();
    app.decorate("keepReply", (req: FastifyRequest, payload: unknown) => void replies.set(req, payload));
    app.addHook("preValidation", async (req) => {
      const body = req.body;
      if (body !== undefined) sentBodies.set(req, Array.isArray(body) ? [...body] : body && typeof body === "object" ? { ...body } : body);
    });
    app.addHook("onSend", async (req, reply, payload) => {
      observe(req, reply, payload, sentBodies.get(req), replies.get(req));
      return payload;
    });
  }
  // Security headers. The API answers data, never a page to render: its policy lets nothing load or
  // frame it. Swagger UI's pages (/docs) send their own policy, which takes precedence. Pictures
  // (/media) are shown by web clients on other origins (the V-app's), so resources may be embedded
  // cross-origin. HSTS only where the service is reached over https.
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: "cross-origin" },
    hsts: config.publicUrl.startsWith("https:") ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  await app.register(cors, {
    origin: "*",
    // Strings, not lists: the plugin joins a list again on every request.
    methods: "GET, HEAD, POST, PUT, PATCH, DELETE",
    exposedHeaders: "X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Content-Language",
    maxAge: 600,
    strictPreflight: false,
  });
  // Load shedding: while the event loop lags, or the heap or RSS is past its limit (PRESSURE_*,
  // sampled every second), requests are refused at once with 503 and Retry-After in the surface's
  // error shape, before any work is done for them, rather than queued until they time out. The
  // probes are still answered; /ready reports the load, so that a load balancer drains the instance.
  // Registered after the security and CORS headers' hooks: a refusal carries them (a browser on
  // another origin reads the 503 and its Retry-After).
  // The readings of the first seconds are not judged: they measure the boot (migrations on the
  // embedded database run on the event loop), not load.
  const pressure = config.pressure;
  let judgedFrom = Infinity;
  app.addHook("onReady", async () => {
    judgedFrom = Date.now() + 2 * PRESSURE_SAMPLE_MS;
  });
  const overloaded = () => Date.now() >= judgedFrom && app.isUnderPressure();
  // One warning per second of refusals, not one per refusal: logging must not add to the load.
  let warnedAt = 0;
  await app.register(underPressure, {
    sampleInterval: PRESSURE_SAMPLE_MS,
    maxEventLoopDelay: pressure.maxEventLoopDelayMs,
    maxHeapUsedBytes: pressure.maxHeapBytes,
    maxRssBytes: pressure.maxRssBytes,
    pressureHandler: async (req, _reply, type, value) => {
      if (Date.now() < judgedFrom || NEVER_SHED.has(req.routeOptions.config.operationId ?? "")) return;
      if (Date.now() - warnedAt >= PRESSURE_SAMPLE_MS) {
        warnedAt = Date.now();
        req.log.warn({ pressure: type, value }, "overloaded: refusing requests (503) until the next reading is within the limits");
      }
      throw new AppError("service_unavailable", { reason: "overloaded" }, { retryAfterSeconds: pressure.retryAfterSeconds });
    },
  });
  // Responses are compressed when the client accepts it and they exceed one packet (br, gzip or
  // deflate, by the client's preference, then in that order). Brotli at quality 3: on JSON it
  // compresses as well as gzip at about the CPU of gzip, where the plugin's default 4 costs 1.5 to
  // 3 times more (11, zlib's default, hundreds of times). Pictures (image/*) are stored compressed
  // and are sent as they are; request bodies are never decompressed (no route accepts an encoded body).
  await app.register(compress, {
    threshold: 1400,
    brotliOptions: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 3 } },
    globalDecompression: false,
  });
  await app.register(multipart, { throwFileSizeLimit: true });
  await app.register(rateLimitPlugin, {
    limits,
    clock,
    counter: overrides.rateCounter ?? (redis ? new RedisRateCounter(redis.commands) : new MemoryRateCounter(clock)),
    metrics: app.metrics,
  });
  await app.register(authPlugin, {
    keyring,
    issuer: config.publicUrl,
    clock,
    guestTokenTtlSeconds: config.guestTokenTtlSeconds,
    vonage: vonageApplication,
    callers: {
      accountNow: (id) => app.services.accounts.byId(id),
      accountByVappId: (id) => app.services.accounts.byVappId(id),
      guestActive: (id) => app.services.identity.guestActive(id),
    },
  });

  // Documentation: the spec as written, rendered by Swagger UI at /docs.
  await app.register(swagger, { mode: "static", specification: { document: served as never } });
  // Swagger UI's own policy (staticCSP), plus the one inline <style> its script inserts (by hash).
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    staticCSP: true,
    transformStaticCSP: (policy) => policy.replace("style-src 'self' https:", `style-src 'self' https: '${SWAGGER_UI_INLINE_STYLE}'`),
  });

  app.setErrorHandler(v1ErrorHandler);
  await app.register(notFoundPlugin, { routes: routeTable, rendererFor });

  // The instance's lease and background work start before any connection is accepted; the billing
  // engine's ticker and the signaling hub stop before the database closes.
  await services.start();
  await app.register(websocket, {
    options: { maxPayload: MAX_FRAME_BYTES },
    preClose: async function (this: FastifyInstance) {
      await services.stop();
      this.websocketServer.close();
      // The last preClose step (registered last): the server stops listening right after it.
      closeUnusedConnections();
    },
  });
  await app.register(signalingRoutes);

  await app.register(systemRoutes);
  await app.register(vappRoutes);
  await app.register(v1Routes);
  await app.register(webRoutes);
  return app;
}
