// Operations: health endpoints, configuration checks, key management and migrations.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateKeyPairSync } from "node:crypto";
import t from "tap";
import { testApp, freshDatabaseUrl } from "./helpers/app.ts";
import { ConfigError, loadConfig } from "../src/config.ts";
import { KeyConfigError, loadApplicationKey, loadKeyring } from "../src/domain/keys.ts";
import { openSqlSession } from "../src/db/client.ts";
import { listMigrations, migrate } from "../src/db/migrate.ts";
import { fromUlid, toUlid, uuidv7 } from "../src/domain/ids.ts";
import { ManualClock } from "../src/domain/ports/clock.ts";

const tmp = () => mkdtempSync(path.join(tmpdir(), "vidivo-sys-"));

t.test("health, readiness and the V-app health check", async (t) => {
  const { app } = await testApp(t);
  const health = await app.inject({ method: "GET", url: "/health" });
  t.same([health.statusCode, health.json()], [200, { status: "ok" }]);
  const ready = await app.inject({ method: "GET", url: "/ready" });
  t.same([ready.statusCode, ready.json()], [200, { status: "ok", checks: { database: "ok", load: "ok" } }]);
  const vapp = await app.inject({ method: "GET", url: "/_/health" });
  t.same([vapp.statusCode, vapp.body, vapp.headers["content-type"]], [200, "OK", "text/plain; charset=utf-8"]);
  for (const url of ["/health", "/ready", "/_/health", "/.well-known/jwks.json"]) {
    const res = await app.inject({ method: "GET", url });
    t.notOk("x-ratelimit-limit" in res.headers, `${url} is not rate limited`);
  }
});

t.test("configuration: defaults, and one clear line per problem", async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 3000);
  t.equal(c.host, "127.0.0.1");
  t.equal(c.publicUrl, "http://localhost:3000");
  t.equal(c.dataDir, path.resolve("./data"));
  t.equal(c.databaseUrl, undefined);
  t.equal(c.trustProxy, false);
  t.equal(c.rateLimits.enabled, true);
  t.equal(loadConfig({ PORT: "8080" }).publicUrl, "http://localhost:8080");
  t.equal(loadConfig({ PUBLIC_URL: "https://api.example.org/" }).publicUrl, "https://api.example.org");
  t.equal(loadConfig({ RATE_LIMITS: "off" }).rateLimits.enabled, false);
  t.equal(loadConfig({ TRUST_PROXY: "true" }).trustProxy, true);
  t.equal(c.payments.billingParallelism, undefined, "the billing engine's own default unless BILLING_PARALLELISM is set");
  t.equal(loadConfig({ BILLING_PARALLELISM: "256" }).payments.billingParallelism, 256);
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.rateLimits), "the config is frozen");

  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      t.ok(err instanceof ConfigError);
      return (err as ConfigError).problems;
    }
  };
  t.same(
    problemsOf({ PORT: "eighty", DATABASE_URL: "mysql://x", LOG_LEVEL: "loud", STORAGE: "s3", RATE_LIMITS: "maybe" }),
    [
      'PORT="eighty": must be a port number (0-65535)',
      'DATABASE_URL="mysql://x": must be a postgresql:// URL',
      'LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent',
      'RATE_LIMITS="maybe": must be one of on, off',
      "S3_BUCKET: required when STORAGE=s3",
    ],
    "every problem, one line each",
  );
  t.same(
    problemsOf({ STORAGE: "s3", S3_BUCKET: "s3://Media", S3_ENDPOINT: "127.0.0.1:9000", S3_REGION: "EU West", S3_PUBLIC_URL: "cdn.example.org" }),
    [
      'S3_BUCKET="s3://Media": must be a bucket name (3-63 lowercase letters, digits, dots and hyphens)',
      'S3_ENDPOINT="127.0.0.1:9000": must be an http(s) URL such as http://127.0.0.1:9000',
      'S3_REGION="EU West": must be a region name such as us-east-1 (auto on R2)',
      'S3_PUBLIC_URL="cdn.example.org": must be an http(s) URL',
    ],
    "malformed S3 settings: one line each",
  );
  t.same(loadConfig({}).storage, { driver: "local" });
  t.same(
    loadConfig({ STORAGE: "s3", S3_BUCKET: "media", S3_ENDPOINT: "http://127.0.0.1:9000", S3_PUBLIC_URL: "https://cdn.example.org/m/" }).storage,
    { driver: "s3", bucket: "media", region: "us-east-1", endpoint: "http://127.0.0.1:9000", publicUrl: "https://cdn.example.org/m" },
    "STORAGE=s3: region us-east-1 unless set, the public base without its trailing slash",
  );
  t.equal(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379" }).redisUrl, "redis://127.0.0.1:6379", "REDIS_URL is taken (test/redis.test.ts)");
  t.same(problemsOf({ REDIS_URL: "127.0.0.1:6379" }), ['REDIS_URL="127.0.0.1:6379": must be a redis:// URL']);
  t.same(
    problemsOf({ BILLING_PARALLELISM: "0" }).concat(problemsOf({ BILLING_PARALLELISM: "-4" }), problemsOf({ BILLING_PARALLELISM: "lots" })),
    ['BILLING_PARALLELISM="0": must be a whole number from 1 to 9999', 'BILLING_PARALLELISM="-4": must be a whole number from 1 to 9999', 'BILLING_PARALLELISM="lots": must be a whole number from 1 to 9999'],
  );
  t.same(
    problemsOf({ PAYMENTS_PROVIDER: "stripe" }),
    [
      "STRIPE_SECRET_KEY: required when PAYMENTS_PROVIDER=stripe",
      "STRIPE_WEBHOOK_SECRET: required when PAYMENTS_PROVIDER=stripe",
      "STRIPE_PUBLISHABLE_KEY: required when PAYMENTS_PROVIDER=stripe",
    ],
    "the stripe provider names each missing key",
  );
  const malformed = problemsOf({ PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_nope_4eC39HqLyjWDarjtT1zdp7dc", STRIPE_WEBHOOK_SECRET: "secret", STRIPE_PUBLISHABLE_KEY: "pk_live_abc" });
  t.same(
    malformed,
    [
      "STRIPE_SECRET_KEY=(hidden): must be a Stripe secret key (sk_test_…, sk_live_… or a restricted rk_…)",
      "STRIPE_WEBHOOK_SECRET=(hidden): must be a webhook signing secret (whsec_…)",
    ],
    "a malformed key: one line each, its value never printed",
  );
  t.same(
    problemsOf({ PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_abc", STRIPE_WEBHOOK_SECRET: "whsec_abc", STRIPE_PUBLISHABLE_KEY: "pk_live_abc" }),
    ["STRIPE_PUBLISHABLE_KEY: must be of the same mode (test or live) as STRIPE_SECRET_KEY"],
  );
  t.same(problemsOf({ PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_abc", STRIPE_WEBHOOK_SECRET: "whsec_abc", STRIPE_PUBLISHABLE_KEY: "pk_test_abc" }), []);
  t.same(problemsOf({ PORT: "70000" }), ["PORT=70000: must be between 0 and 65535"]);
  t.same(problemsOf({ TRUST_PROXY: "1" }), ["TRUST_PROXY=1: a hop count is not honoured; give the load balancer's addresses or CIDR ranges (or true)"], "Fastify would ignore it");
  t.same(problemsOf({ PORT: "3000", METRICS_PORT: "3000" }), ["METRICS_PORT=3000: must differ from PORT (metrics have a listener of their own)"]);
  t.same(loadConfig({ METRICS_PORT: "9464" }).metrics, { port: 9464, host: "127.0.0.1" }, "metrics on loopback unless METRICS_HOST says otherwise");
  t.equal(c.metrics, undefined, "no metrics listener unless METRICS_PORT is set");
  t.same(c.pressure, { maxEventLoopDelayMs: 1000, maxHeapBytes: 0, maxRssBytes: 0, retryAfterSeconds: 5 }, "load shedding: 1 s of lag by default");
  t.throws(() => loadConfig({ JWT_PRIVATE_KEY: "a", JWT_PRIVATE_KEY_FILE: "b" }), ConfigError.prototype);
});

t.test("signing keys: a dev key generated once, refused in production, env keys and rotation", async (t) => {
  const dataDir = tmp();
  const warnings: string[] = [];
  const first = loadKeyring({ env: "development", dataDir }, (w) => warnings.push(w));
  const second = loadKeyring({ env: "development", dataDir });
  t.equal(first.current.kid, second.current.kid, "the same key on the next start");
  t.match(warnings[0], /development signing key/);
  const file = path.join(dataDir, "keys", "dev-signing-key.pem");
  t.equal(statSync(file).mode & 0o777, 0o600, "the key file is private");

  t.throws(() => loadKeyring({ env: "production", dataDir: tmp() }), /required when NODE_ENV=production/, "no generated key in production");
  t.throws(() => loadKeyring({ env: "production", dataDir: tmp() }), KeyConfigError.prototype);

  const pem = (bits = 2048) => generateKeyPairSync("rsa", { modulusLength: bits }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const fromEnv = loadKeyring({ env: "production", dataDir, privateKeyPem: pem() });
  t.not(fromEnv.current.kid, first.current.kid);
  const keyFile = path.join(tmp(), "key.pem");
  writeFileSync(keyFile, pem());
  t.ok(loadKeyring({ env: "production", dataDir, privateKeyFile: keyFile }).current.kid);
  t.throws(() => loadKeyring({ env: "production", dataDir, privateKeyPem: "not a key" }), /not a PEM private key/);
  t.throws(() => loadKeyring({ env: "production", dataDir, privateKeyPem: pem(1024) }), /shorter than 2048/);
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  t.throws(() => loadKeyring({ env: "production", dataDir, privateKeyPem: ec }), /RSA/);

  const keysDir = tmp();
  writeFileSync(path.join(keysDir, "old.pem"), pem());
  const rotated = loadKeyring({ env: "production", dataDir, privateKeyFile: keyFile, keysDir });
  t.equal(rotated.jwks().keys.length, 2, "the retired key is still published");
  t.ok(rotated.jwks().keys.every((k) => k.alg === "RS256" && k.use === "sig" && k.kty === "RSA"));
  t.notOk(JSON.stringify(rotated.jwks()).includes('"d"'), "no private parts in the JWKS");
  t.ok(readFileSync(file, "utf8").includes("PRIVATE KEY"));

  // A retired key may be kept as its public half only; it publishes the same kid.
  const retired = loadKeyring({ env: "production", dataDir, privateKeyFile: path.join(keysDir, "old.pem") }).current;
  const publicOnly = tmp();
  writeFileSync(path.join(publicOnly, "old.pub.pem"), retired.publicKeyPem);
  const withPublic = loadKeyring({ env: "production", dataDir, privateKeyFile: keyFile, keysDir: publicOnly });
  t.same(withPublic.jwks().keys.map((k) => k.kid).sort(), rotated.jwks().keys.map((k) => k.kid).sort(), "a public PEM serves as well");
  t.equal(withPublic.publicKeys.get(retired.kid), retired.publicKeyPem);
  writeFileSync(path.join(publicOnly, "junk.pem"), "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n");
  t.throws(() => loadKeyring({ env: "production", dataDir, privateKeyFile: keyFile, keysDir: publicOnly }), /JWT_KEYS_DIR\/junk.pem: not a PEM key/);
});

t.test("the Vonage application: both or neither, and a usable RSA private key", async (t) => {
  const APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab";
  const pem = (type: "pkcs8" | "pkcs1" = "pkcs8") =>
    generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type }).toString();
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  const bothOrNeither = "VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY (or VONAGE_PRIVATE_KEY_FILE): set both for the Vonage mode, or neither";
  t.same(problemsOf({ VONAGE_APPLICATION_ID: APP_ID }), [bothOrNeither], "an id without a key");
  t.same(problemsOf({ VONAGE_PRIVATE_KEY: pem() }), [bothOrNeither], "a key without an id");
  t.same(problemsOf({ VONAGE_PRIVATE_KEY_FILE: "/etc/vonage/private.key" }), [bothOrNeither], "a key file without an id");
  t.same(
    problemsOf({ VONAGE_APPLICATION_ID: APP_ID, VONAGE_PRIVATE_KEY: pem(), VONAGE_PRIVATE_KEY_FILE: "/etc/vonage/private.key" }),
    ["VONAGE_PRIVATE_KEY and VONAGE_PRIVATE_KEY_FILE: set one, not both"],
  );
  t.same(problemsOf({ VONAGE_APPLICATION_ID: APP_ID, VONAGE_PRIVATE_KEY: "hunter2" }), ["VONAGE_PRIVATE_KEY=(hidden): must be the application's private key, PEM"], "never printed");
  t.equal(loadConfig({}).vonage.application, undefined, "neither: no Vonage mode");
  t.same(loadConfig({ VONAGE_APPLICATION_ID: APP_ID.toUpperCase(), VONAGE_PRIVATE_KEY_FILE: "/k.pem" }).vonage.application, { id: APP_ID, privateKeyPem: undefined, privateKeyFile: "/k.pem" });
  // The application's tokens travel to VONAGE_API_BASE: in production only over TLS, or to a local server.
  const plain = 'VONAGE_API_BASE="http://vonage.example": must be https in production (http only to a local server)';
  t.same(problemsOf({ NODE_ENV: "production", VONAGE_API_BASE: "http://vonage.example" }), [plain]);
  t.same(problemsOf({ NODE_ENV: "production", VONAGE_API_BASE: "https://api-eu.vonage.com" }), []);
  t.same(problemsOf({ NODE_ENV: "production", VONAGE_API_BASE: "http://127.0.0.1:12112" }), [], "a local test server");
  t.same(problemsOf({ VONAGE_API_BASE: "http://vonage.example" }), [], "outside production, any http(s) origin");

  // The key itself is read at boot (buildApp; the service prints the message as one `config:` line).
  const keyFile = path.join(tmp(), "private.key");
  writeFileSync(keyFile, pem("pkcs1"));
  const fromFile = loadApplicationKey({ privateKeyPem: undefined, privateKeyFile: keyFile });
  t.match(fromFile.jwk, { kty: "RSA", alg: "RS256", use: "sig" }, "a PKCS#1 key from a file");
  t.ok(loadApplicationKey({ privateKeyPem: pem().replace(/\n/g, "\\n"), privateKeyFile: undefined }).kid, "a PEM with escaped newlines, as JWT_PRIVATE_KEY");
  const refused = (src: { privateKeyPem?: string; privateKeyFile?: string }) => {
    try {
      loadApplicationKey({ privateKeyPem: src.privateKeyPem, privateKeyFile: src.privateKeyFile });
      return "accepted";
    } catch (err) {
      t.ok(err instanceof KeyConfigError);
      return (err as Error).message;
    }
  };
  t.equal(refused({ privateKeyPem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }), "VONAGE_PRIVATE_KEY: not a PEM private key");
  const publicOnly = path.join(tmp(), "public.pem");
  writeFileSync(publicOnly, fromFile.publicKeyPem);
  t.equal(refused({ privateKeyFile: publicOnly }), `VONAGE_PRIVATE_KEY_FILE=${publicOnly}: not a PEM private key`, "a public key cannot sign");
  t.equal(refused({ privateKeyFile: "/nonexistent/private.key" }), "VONAGE_PRIVATE_KEY_FILE=/nonexistent/private.key: cannot be read");
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  t.equal(refused({ privateKeyPem: ec }), "VONAGE_PRIVATE_KEY: RS256 needs an RSA key");
  const short = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  t.equal(refused({ privateKeyPem: short }), "VONAGE_PRIVATE_KEY: RSA key shorter than 2048 bits");
  t.throws(
    () => loadKeyring({ env: "production", dataDir: tmp(), privateKeyFile: keyFile, published: fromFile }),
    /VONAGE_PRIVATE_KEY \/ VONAGE_PRIVATE_KEY_FILE: is one of the service's own signing keys/,
    "the service's own key cannot be the application's",
  );
  const published = loadKeyring({ env: "production", dataDir: tmp(), privateKeyPem: pem(), published: fromFile });
  t.same(published.jwks().keys.map((k) => k.kid), [published.current.kid, fromFile.kid], "published after the service's keys");
  t.notOk(published.publicKeys.has(fromFile.kid), "but never a verification key of the service's own tokens");
});

t.test("the JWKS endpoint publishes the current key", async (t) => {
  const { app } = await testApp(t);
  const res = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
  t.equal(res.statusCode, 200);
  t.same(res.json().keys.map((k: { kid: string }) => k.kid), [app.keyring.current.kid]);
});

t.test("migrations: recorded, applied once, safe when two instances start at once", async (t) => {
  const databaseUrl = await freshDatabaseUrl(t);
  const dataDir = tmp();
  const names = listMigrations().map((m) => m.name);
  t.ok(names.length >= 1);
  if (databaseUrl) {
    // Two instances racing on one PostgreSQL: the advisory lock serialises them.
    const [a, b] = await Promise.all([openSqlSession({ databaseUrl, dataDir }), openSqlSession({ databaseUrl, dataDir })]);
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    t.same([...ra, ...rb].sort(), [...names].sort(), "each migration applied exactly once between the two");
    const rows = await a.query(`SELECT name FROM "_migrations" ORDER BY name`);
    t.same(rows.map((r) => r.name), names);
    await Promise.all([a.close(), b.close()]);
  } else {
    const s = await openSqlSession({ databaseUrl: undefined, dataDir });
    t.same(await migrate(s), names, "a fresh database gets every migration");
    t.same(await migrate(s), [], "a second run applies nothing");
    await s.close();
  }
});

t.test("ids: time-ordered UUIDv7, rendered as ULID and back", async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 22));
  const ids = Array.from({ length: 50 }, () => uuidv7(clock));
  t.same([...ids].sort(), ids, "ids made in the same millisecond keep their order");
  clock.advance(1);
  const later = uuidv7(clock);
  t.ok(later > ids[49]!);
  for (const id of [...ids.slice(0, 3), later]) {
    const ulid = toUlid(id);
    t.match(ulid, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    t.equal(fromUlid(ulid), id);
    t.equal(fromUlid(ulid.toLowerCase()), id);
  }
  t.equal(fromUlid("not-a-ulid"), null);
  t.equal(fromUlid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"), null, "overflowing the 128 bits is not an id");
});
