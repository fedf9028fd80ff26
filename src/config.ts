// The one place that reads the environment. Every variable is described once (TypeBox), parsed,
// checked, and frozen into a typed Config; a bad value stops the process with one line per problem.
import path from "node:path";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

const Env = Type.Object({
  NODE_ENV: Type.Optional(Type.String()),
  PORT: Type.Optional(Type.String({ pattern: "^[0-9]{1,5}$", description: "a port number (0-65535)" })),
  HOST: Type.Optional(Type.String({ minLength: 1 })),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: "^https?://[^\\s/]+(/[^\\s]*)?$", description: "an http(s) URL" })),
  DATA_DIR: Type.Optional(Type.String({ minLength: 1 })),
  DATABASE_URL: Type.Optional(Type.String({ pattern: "^postgres(ql)?://", description: "a postgresql:// URL" })),
  REDIS_URL: Type.Optional(Type.String({ pattern: "^rediss?://", description: "a redis:// URL" })),
  JWT_PRIVATE_KEY: Type.Optional(Type.String({ minLength: 1 })),
  JWT_PRIVATE_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  JWT_KEYS_DIR: Type.Optional(Type.String({ minLength: 1 })),
  STORAGE: Type.Optional(Type.Union([Type.Literal("local"), Type.Literal("s3")])),
  S3_BUCKET: Type.Optional(Type.String({ pattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description: "a bucket name (3-63 lowercase letters, digits, dots and hyphens)" })),
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: "^https?://[^\\s/]+(/[^\\s]*)?$", description: "an http(s) URL such as http://127.0.0.1:9000" })),
  S3_REGION: Type.Optional(Type.String({ pattern: "^[a-z0-9-]+$", description: "a region name such as us-east-1 (auto on R2)" })),
  S3_PUBLIC_URL: Type.Optional(Type.String({ pattern: "^https?://[^\\s/]+(/[^\\s]*)?$", description: "an http(s) URL" })),
  PAYMENTS_PROVIDER: Type.Optional(Type.Union([Type.Literal("simulated"), Type.Literal("stripe")])),
  STRIPE_SECRET_KEY: Type.Optional(Type.String({ pattern: "^(sk|rk)_(test|live)_[A-Za-z0-9_]+$", description: "a Stripe secret key (sk_test_…, sk_live_… or a restricted rk_…)" })),
  STRIPE_WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: "^whsec_[A-Za-z0-9_]+$", description: "a webhook signing secret (whsec_…)" })),
  STRIPE_CONNECT_WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: "^whsec_[A-Za-z0-9_]+$", description: "a webhook signing secret (whsec_…)" })),
  STRIPE_PUBLISHABLE_KEY: Type.Optional(Type.String({ pattern: "^pk_(test|live)_[A-Za-z0-9_]+$", description: "a Stripe publishable key (pk_test_… or pk_live_…)" })),
  STRIPE_API_BASE: Type.Optional(Type.String({ pattern: "^https?://[^\\s/]+/?$", description: "an http(s) origin such as http://127.0.0.1:12111" })),
  BILLING_PARALLELISM: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,3}$", description: "a whole number from 1 to 9999" })),
  PAYMENTS_AVAILABLE_AFTER_HOURS: Type.Optional(Type.String({ pattern: "^[0-9]+$", description: "a whole number of hours" })),
  MAIL_URL: Type.Optional(Type.String({ pattern: "^smtps?://", description: "an smtp:// URL" })),
  MAIL_FROM: Type.Optional(Type.String({ minLength: 3 })),
  TURN_URLS: Type.Optional(Type.String()),
  TURN_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  TURN_TTL_SECONDS: Type.Optional(Type.String({ pattern: "^[0-9]+$", description: "a whole number of seconds" })),
  TRUST_PROXY: Type.Optional(
    Type.String({ pattern: "^(true|false|[0-9a-fA-F.:/, ]+)$", description: "true, false or the load balancer's addresses/CIDR ranges" }),
  ),
  LOG_LEVEL: Type.Optional(
    Type.Union(["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => Type.Literal(l))),
  ),
  RATE_LIMITS: Type.Optional(Type.Union([Type.Literal("on"), Type.Literal("off")])),
  MAX_IMAGE_BYTES: Type.Optional(Type.String({ pattern: "^[0-9]+$", description: "a whole number of bytes" })),
  GUEST_TOKEN_TTL_SECONDS: Type.Optional(Type.String({ pattern: "^[0-9]+$", description: "a whole number of seconds" })),
  ARGON2_MEMORY_KIB: Type.Optional(Type.String({ pattern: "^[0-9]+$", description: "a whole number of KiB" })),
  ARGON2_TIME_COST: Type.Optional(Type.String({ pattern: "^[1-9][0-9]*$", description: "a positive whole number" })),
  ARGON2_PARALLELISM: Type.Optional(Type.String({ pattern: "^[1-9][0-9]*$", description: "a positive whole number" })),
  METRICS_PORT: Type.Optional(Type.String({ pattern: "^[0-9]{1,5}$", description: "a port number (0-65535)" })),
  METRICS_HOST: Type.Optional(Type.String({ minLength: 1 })),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: "^https?://[^\\s/]+(/[^\\s]*)?$", description: "an http(s) URL" })),
  OTEL_SERVICE_NAME: Type.Optional(Type.String({ minLength: 1 })),
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: Type.Optional(Type.String({ pattern: "^[0-9]+$", description: "a whole number of milliseconds (0: off)" })),
  PRESSURE_MAX_HEAP_BYTES: Type.Optional(Type.String({ pattern: "^[0-9]+$", description: "a whole number of bytes (0: off)" })),
  PRESSURE_MAX_RSS_BYTES: Type.Optional(Type.String({ pattern: "^[0-9]+$", description: "a whole number of bytes (0: off)" })),
  PRESSURE_RETRY_AFTER_SECONDS: Type.Optional(Type.String({ pattern: "^[1-9][0-9]*$", description: "a positive whole number of seconds" })),
  VONAGE_APPLICATION_ID: Type.Optional(
    Type.String({ pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description: "a Vonage application id (a UUID)" }),
  ),
  VONAGE_PRIVATE_KEY: Type.Optional(Type.String({ pattern: "-----BEGIN (RSA )?PRIVATE KEY-----", description: "the application's private key, PEM" })),
  VONAGE_PRIVATE_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  VONAGE_API_BASE: Type.Optional(Type.String({ pattern: "^https?://[^\\s/]+/?$", description: "an http(s) origin such as http://127.0.0.1:12112" })),
  VONAGE_SIGNATURE_SECRET: Type.Optional(Type.String({ minLength: 16, description: "the account's signature secret (at least 16 characters)" })),
});
type Env = Static<typeof Env>;
/** Variables whose values never appear in a message. */
const SECRETS = new Set([
  "JWT_PRIVATE_KEY", "TURN_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_CONNECT_WEBHOOK_SECRET",
  "VONAGE_PRIVATE_KEY", "VONAGE_SIGNATURE_SECRET",
]);

export interface RateLimitRule {
  max: number;
  windowMs: number;
}

/**
 * Named rate-limit policies (docs/limits.md, "Rate-limit policies"). Tests may pass other numbers
 * through buildApp.
 */
export interface RateLimits {
  enabled: boolean;
  login: RateLimitRule;
  register: RateLimitRule;
  passwordReset: RateLimitRule;
  authenticated: RateLimitRule;
  anonymous: RateLimitRule;
  /** An account's data export (per user): a heavy read, needed rarely. */
  export: RateLimitRule;
}

export interface Config {
  env: "production" | "development" | "test";
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  jwt: { privateKeyPem: string | undefined; privateKeyFile: string | undefined; keysDir: string | undefined };
  storage: { driver: "local" } | ({ driver: "s3" } & S3Config);
  payments: {
    provider: "simulated" | "stripe";
    stripeSecretKey?: string;
    stripeWebhookSecret?: string;
    /** The signing secret of the endpoint that receives connected accounts' events (a second endpoint at Stripe). */
    stripeConnectWebhookSecret?: string;
    stripePublishableKey?: string;
    stripeApiBase?: string;
    /** Simulated provider: a host's earnings become available for payout this long after capture. */
    availableAfterMs: number;
    /** Calls the billing engine works on at once (unset: its default, TICK_PARALLELISM). */
    billingParallelism: number | undefined;
  };
  mail: { url: string | undefined; from: string };
  turn: { urls: string[]; secret: string | undefined; ttlSeconds: number };
  /** Fastify's trustProxy: true, false or the proxies' addresses/ranges. */
  trustProxy: boolean | string;
  logLevel: string;
  rateLimits: RateLimits;
  maxImageBytes: number;
  maxBodyBytes: number;
  guestTokenTtlSeconds: number;
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  /** Prometheus metrics on their own listener (METRICS_PORT; unset: not served at all). */
  metrics: { port: number; host: string } | undefined;
  /** OpenTelemetry traces, exported over OTLP/HTTP when an endpoint is set (src/telemetry.ts). */
  otel: { endpoint: string; serviceName: string } | undefined;
  /**
   * The V-app surface's Vonage mode (docs/vapp.md, "Vonage mode"): with an application, session
   * tokens are the Vonage Client SDK's and users are provisioned in the Vonage Users API;
   * `signatureSecret` checks the voice and RTC webhooks' signed JWTs. `application` undefined:
   * today's V-app tokens, no provisioning.
   */
  vonage: {
    application: { id: string; privateKeyPem: string | undefined; privateKeyFile: string | undefined } | undefined;
    /** The Vonage API host (the public one unless a test points it at a local server). */
    apiBase: string;
    signatureSecret: string | undefined;
  };
  /** Load shedding (@fastify/under-pressure): past any limit, requests are answered 503 with Retry-After. 0 turns a limit off. */
  pressure: { maxEventLoopDelayMs: number; maxHeapBytes: number; maxRssBytes: number; retryAfterSeconds: number };
}

/** STORAGE=s3: the bucket, and where its objects are public (else through this service's /media). */
export interface S3Config {
  bucket: string;
  region: string;
  /** An S3-compatible server (R2, MinIO…), addressed path-style; unset: AWS S3 itself. */
  endpoint: string | undefined;
  /** Public base of the bucket or its CDN, without a trailing slash. */
  publicUrl: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

const MINUTE = 60_000;
export const defaultRateLimits: RateLimits = {
  enabled: true,
  login: { max: 5, windowMs: 15 * MINUTE },
  register: { max: 3, windowMs: 60 * MINUTE },
  passwordReset: { max: 10, windowMs: 60 * MINUTE },
  authenticated: { max: 100, windowMs: MINUTE },
  anonymous: { max: 30, windowMs: MINUTE },
  export: { max: 5, windowMs: 60 * MINUTE },
};

/** OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane. */
export const defaultArgon2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

function parseTrustProxy(v: string | undefined): boolean | string {
  if (v === undefined || v === "false") return false;
  if (v === "true") return true;
  return v;
}

/** Parse an environment into a frozen Config, or throw ConfigError listing every problem. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(Env.properties)) {
    const v = source[key];
    if (v !== undefined && v !== "") raw[key] = v;
  }
  // One line per variable: the first problem TypeBox finds with it, in words an operator reads.
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(Env, raw)) {
    const name = e.path.replace(/^\//, "");
    if (seen.has(name)) continue;
    seen.add(name);
    const schema = Env.properties[name as keyof Env] as { description?: string; anyOf?: { const: string }[] };
    const expected = schema.anyOf
      ? `one of ${schema.anyOf.map((l) => l.const).join(", ")}`
      : (schema.description ?? "a non-empty value");
    const shown = SECRETS.has(name) ? "(hidden)" : JSON.stringify(raw[name]);
    problems.push(`${name}=${shown}: must be ${expected}`);
  }
  const env = raw as Env;
  const nodeEnv = env.NODE_ENV === "production" ? "production" : env.NODE_ENV === "test" ? "test" : "development";
  const port = Number(env.PORT ?? 3000);
  // Fastify 5 ignores a bare hop count (it cannot check the immediate peer, so it trusts no one):
  // refused rather than accepted and silently not honoured.
  if (env.TRUST_PROXY && /^[0-9]+$/.test(env.TRUST_PROXY)) {
    problems.push(`TRUST_PROXY=${env.TRUST_PROXY}: a hop count is not honoured; give the load balancer's addresses or CIDR ranges (or true)`);
  }
  if (!seen.has("PORT") && !(port >= 0 && port <= 65535)) problems.push(`PORT=${env.PORT}: must be between 0 and 65535`);
  const metricsPort = env.METRICS_PORT === undefined ? undefined : Number(env.METRICS_PORT);
  if (metricsPort !== undefined && !seen.has("METRICS_PORT")) {
    if (metricsPort > 65535) problems.push(`METRICS_PORT=${env.METRICS_PORT}: must be between 0 and 65535`);
    else if (metricsPort !== 0 && metricsPort === port) problems.push(`METRICS_PORT=${env.METRICS_PORT}: must differ from PORT (metrics have a listener of their own)`);
  }
  if (env.JWT_PRIVATE_KEY && env.JWT_PRIVATE_KEY_FILE) {
    problems.push("JWT_PRIVATE_KEY and JWT_PRIVATE_KEY_FILE: set one, not both");
  }
  if (env.STORAGE === "s3" && !env.S3_BUCKET) problems.push("S3_BUCKET: required when STORAGE=s3");
  if (env.VONAGE_PRIVATE_KEY && env.VONAGE_PRIVATE_KEY_FILE) problems.push("VONAGE_PRIVATE_KEY and VONAGE_PRIVATE_KEY_FILE: set one, not both");
  const vonageKey = env.VONAGE_PRIVATE_KEY ?? env.VONAGE_PRIVATE_KEY_FILE;
  // The application's tokens go to this host: in production, over TLS (plain http only to a local test server).
  if (nodeEnv === "production" && env.VONAGE_API_BASE && !seen.has("VONAGE_API_BASE") && !/^(https:|http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$))/.test(env.VONAGE_API_BASE)) {
    problems.push(`VONAGE_API_BASE=${JSON.stringify(env.VONAGE_API_BASE)}: must be https in production (http only to a local server)`);
  }
  if (!seen.has("VONAGE_APPLICATION_ID") && Boolean(env.VONAGE_APPLICATION_ID) !== Boolean(vonageKey)) {
    problems.push("VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY (or VONAGE_PRIVATE_KEY_FILE): set both for the Vonage mode, or neither");
  }
  if (env.PAYMENTS_PROVIDER === "stripe") {
    for (const name of ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PUBLISHABLE_KEY"] as const) {
      if (!env[name] && !seen.has(name)) problems.push(`${name}: required when PAYMENTS_PROVIDER=stripe`);
    }
    const live = (k: string | undefined) => k?.includes("_live_");
    const wellFormed = !seen.has("STRIPE_SECRET_KEY") && !seen.has("STRIPE_PUBLISHABLE_KEY");
    if (wellFormed && env.STRIPE_SECRET_KEY && env.STRIPE_PUBLISHABLE_KEY && live(env.STRIPE_SECRET_KEY) !== live(env.STRIPE_PUBLISHABLE_KEY)) {
      problems.push("STRIPE_PUBLISHABLE_KEY: must be of the same mode (test or live) as STRIPE_SECRET_KEY");
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const dataDir = path.resolve(env.DATA_DIR ?? "./data");
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, "");
  const argon2 = {
    memoryCost: Number(env.ARGON2_MEMORY_KIB ?? defaultArgon2.memoryCost),
    timeCost: Number(env.ARGON2_TIME_COST ?? defaultArgon2.timeCost),
    parallelism: Number(env.ARGON2_PARALLELISM ?? defaultArgon2.parallelism),
  };
  return deepFreeze({
    env: nodeEnv,
    port,
    host: env.HOST ?? "127.0.0.1",
    publicUrl,
    dataDir,
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    jwt: { privateKeyPem: env.JWT_PRIVATE_KEY, privateKeyFile: env.JWT_PRIVATE_KEY_FILE, keysDir: env.JWT_KEYS_DIR },
    storage:
      env.STORAGE === "s3"
        ? {
            driver: "s3",
            bucket: env.S3_BUCKET!,
            region: env.S3_REGION ?? "us-east-1",
            endpoint: env.S3_ENDPOINT,
            publicUrl: env.S3_PUBLIC_URL?.replace(/\/+$/, ""),
          }
        : { driver: "local" },
    payments: {
      provider: env.PAYMENTS_PROVIDER ?? "simulated",
      stripeSecretKey: env.STRIPE_SECRET_KEY,
      stripeWebhookSecret: env.STRIPE_WEBHOOK_SECRET,
      stripeConnectWebhookSecret: env.STRIPE_CONNECT_WEBHOOK_SECRET,
      stripePublishableKey: env.STRIPE_PUBLISHABLE_KEY,
      stripeApiBase: env.STRIPE_API_BASE,
      availableAfterMs: Number(env.PAYMENTS_AVAILABLE_AFTER_HOURS ?? 48) * 3_600_000,
      billingParallelism: env.BILLING_PARALLELISM === undefined ? undefined : Number(env.BILLING_PARALLELISM),
    },
    mail: { url: env.MAIL_URL, from: env.MAIL_FROM ?? "Vidivo <no-reply@localhost>" },
    turn: {
      urls: (env.TURN_URLS ?? "").split(",").map((s) => s.trim()).filter(Boolean),
      secret: env.TURN_SECRET,
      ttlSeconds: Number(env.TURN_TTL_SECONDS ?? 3600),
    },
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    logLevel: env.LOG_LEVEL ?? "info",
    rateLimits: { ...defaultRateLimits, enabled: env.RATE_LIMITS !== "off" },
    maxImageBytes: Number(env.MAX_IMAGE_BYTES ?? 5 * 1024 * 1024),
    maxBodyBytes: 1024 * 1024,
    guestTokenTtlSeconds: Number(env.GUEST_TOKEN_TTL_SECONDS ?? 24 * 3600),
    argon2,
    metrics: metricsPort === undefined ? undefined : { port: metricsPort, host: env.METRICS_HOST ?? "127.0.0.1" },
    vonage: {
      application: env.VONAGE_APPLICATION_ID
        ? { id: env.VONAGE_APPLICATION_ID.toLowerCase(), privateKeyPem: env.VONAGE_PRIVATE_KEY, privateKeyFile: env.VONAGE_PRIVATE_KEY_FILE }
        : undefined,
      apiBase: (env.VONAGE_API_BASE ?? "https://api.nexmo.com").replace(/\/+$/, ""),
      signatureSecret: env.VONAGE_SIGNATURE_SECRET,
    },
    otel: env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? { endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, ""), serviceName: env.OTEL_SERVICE_NAME ?? "vidivo" }
      : undefined,
    pressure: {
      maxEventLoopDelayMs: Number(env.PRESSURE_MAX_EVENT_LOOP_DELAY_MS ?? 1000),
      maxHeapBytes: Number(env.PRESSURE_MAX_HEAP_BYTES ?? 0),
      maxRssBytes: Number(env.PRESSURE_MAX_RSS_BYTES ?? 0),
      retryAfterSeconds: Number(env.PRESSURE_RETRY_AFTER_SECONDS ?? 5),
    },
  } satisfies Config);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
