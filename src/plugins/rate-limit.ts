// Rate limits (docs/limits.md) on top of @fastify/rate-limit. Policies are named in openapi.yaml
// (`x-rate-limit`); operations without one get `authenticated` (per user) or `anonymous` (per IP).
// Counters live behind the RateCounter port (in-process by default, reading the injected clock;
// shared Redis when configured, windows by Redis's TTL). All routes of a policy share one budget per
// key, so /login, /token and /v1/auth/login draw on the same five attempts. A counter that fails
// (Redis unreachable) lets the request through without rate-limit headers, with one warning a
// minute at most: a login storm must not lock everyone out because Redis blinked.
import fp from "fastify-plugin";
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../domain/errors.ts";
import { nowSeconds, type Clock } from "../domain/ports/clock.ts";
import type { RateCounter } from "../domain/ports/rate-counter.ts";
import { noMetrics, type Metrics } from "../domain/ports/metrics.ts";
import type { RateLimits } from "../config.ts";

export type PolicyName = "login" | "register" | "passwordReset" | "authenticated" | "anonymous" | "export";
export const POLICY_NAMES: PolicyName[] = ["login", "register", "passwordReset", "authenticated", "anonymous", "export"];
/** Policies counted per caller (user or guest id), after the security hook; the others per IP. */
export const PER_CALLER_POLICIES: ReadonlySet<PolicyName> = new Set(["authenticated", "export"]);


/** A hit the counter could not count: the request goes through unlimited. */
class CounterFailure extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

const FAIL_OPEN_WARN_EVERY_MS = 60_000;


/** Adapts a RateCounter to @fastify/rate-limit's store interface; every route shares it. */
function storeFor(counter: RateCounter) {
  return class SharedStore {
    incr(key: string, cb: (err: Error | null, res?: { current: number; ttl: number }) => void, timeWindow: number) {
      counter.hit(key, timeWindow).then(
        (r) => cb(null, { current: r.count, ttl: r.ttlMs }),
        (err: unknown) => cb(new CounterFailure(err)),
      );
    }
    child() {
      return this;
    }
  };
}

/** A limiter for one policy: counts the request and sets the headers, or throws rate_limited. */
export type Limiter = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

declare module "fastify" {
  interface FastifyInstance {
    /** The limiter of a policy, or undefined when limits are off (RATE_LIMITS=off). */
    rateLimiter(name: PolicyName): Limiter | undefined;
  }
}

export interface RateLimitOptions {
  limits: RateLimits;
  counter: RateCounter;
  clock: Clock;
  /** Counts the requests refused, by policy. */
  metrics?: Pick<Metrics, "rateLimited">;
}

export default fp(
  async function rateLimitPlugin(app: FastifyInstance, opts: RateLimitOptions) {
    const { limits, counter, clock, metrics = noMetrics } = opts;
    await app.register(rateLimit, {
      global: false,
      store: storeFor(counter),
      errorResponseBuilder: (_req, ctx) =>
        new AppError("rate_limited", null, { retryAfterSeconds: Math.ceil(ctx.ttl / 1000) }),
    });


    // Per-IP policies are keyed by address; per-caller ones by the principal the route's security
    // hook has identified (user or guest id), so they must run after that hook.
    const keyFor = (name: PolicyName) =>
      PER_CALLER_POLICIES.has(name)
        ? (req: FastifyRequest) => (req.principal ? `${name}:${req.principal.kind}:${req.principal.id}` : `anonymous:ip:${req.ip}`)
        : (req: FastifyRequest) => `${name}:ip:${req.ip}`;
    const limiters = new Map<PolicyName, Limiter>();
    let warnedAt = -Infinity;
    let failing = false;
    const failOpen = (req: FastifyRequest, err: CounterFailure) => {
      failing = true;
      if (clock.now() - warnedAt < FAIL_OPEN_WARN_EVERY_MS) return;
      warnedAt = clock.now();
      req.log.warn({ err: err.cause }, `rate limits are not enforced: ${err.message}`);
    };
    if (limits.enabled) {
      for (const name of POLICY_NAMES) {
        const rule = limits[name];
        const count = app.rateLimit({ max: rule.max, timeWindow: rule.windowMs, keyGenerator: keyFor(name) }) as Limiter;
        limiters.set(name, async (req, reply) => {
          // The plugin writes seconds-until-reset; ours is a unix timestamp (docs/limits.md, "Headers").
          // Converted only when this call wrote it (the plugin counts a request once at most).
          const before = reply.getHeader("x-ratelimit-reset");
          try {
            await count(req, reply);
            if (failing) {
              failing = false;
              req.log.info("rate limits are enforced again");
            }
          } catch (err) {
            // The plugin rethrows the store's error before it writes any header.
            if (err instanceof CounterFailure) return failOpen(req, err);
            metrics.rateLimited(name);
            throw err;
          } finally {
            const left = reply.getHeader("x-ratelimit-reset");
            if (left !== undefined && left !== before) reply.header("x-ratelimit-reset", nowSeconds(clock) + Number(left));
          }
        });
      }
    }
    app.decorate("rateLimiter", (name: PolicyName) => limiters.get(name));
  },
  { name: "rate-limit" },
);
