// X-Idempotency-Key (docs/api.md, "Idempotency keys"). A key is a UUID scoped to the caller and the
// operation and kept 24 hours. The first request with a key claims it and runs; its response
// (status, body, content language) is stored; the same key with the same request replays that
// response (status included); the same key with a different request is 409 idempotency_key_reused;
// a duplicate that arrives while the first is still running waits for it (up to a few seconds, then
// 409 conflict).
//
// A claim heals. It is a lease (`claimed_until`, CLAIM_LEASE_MS from the injected clock) that a
// real-time heartbeat extends while the request runs. A request that ends in a 5xx (or with a
// status the route does not `keep`) releases its claim (best effort); if that fails too (a database outage) or the process dies, the lease lapses
// within seconds and the next request with the same key and body takes the claim over (one
// conditional update, so two retries cannot both win) and runs again. An aborted request keeps its
// claim until its handler has finished and its answer is stored: the effects happen anyway, so a
// retry gets the replay rather than a second run. Every write of an owner is conditional on its
// claim (`created_at` is the claim's generation), so an owner whose claim was taken over writes
// nothing. If a successful answer cannot be stored (database gone after the effect), the answer is
// still sent and the claim lapses.
//
// Secrets are not kept at rest: `redact` rewrites a 2xx body before it is stored, and `refresh`
// rebuilds the answer from the stored body at replay time (fresh tokens; it may throw an AppError).
// Usage: implement(app, op, handler, { route: idempotent(app, { redact, refresh }) }).
import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isUniqueViolation } from "../domain/accounts.ts";
import { AppError } from "../domain/errors.ts";

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** How long a claim lasts without a heartbeat: a dead request blocks its key at most this long. */
export const CLAIM_LEASE_MS = 10_000;
/** Real-time period of the heartbeat that extends the claim of a running request. */
const HEARTBEAT_MS = Math.floor(CLAIM_LEASE_MS / 3);
const WAIT_FOR_FIRST_MS = 5_000;

export interface IdempotencyOptions {
  /** The parsed body of a 2xx answer → what is stored instead (strip what must not be kept at rest). */
  redact?: (body: unknown) => unknown;
  /** A stored 2xx body (as redacted) → the body to replay, with the same status. May throw an AppError. */
  refresh?: (stored: unknown, req: FastifyRequest) => Promise<unknown>;
  /**
   * Whether an answer below 500 is kept for replay (default: all of them). An answer not kept
   * releases the key, so a retry runs again (e.g. a 202 "still settling").
   */
  keep?: (statusCode: number) => boolean;
}

type KeyId = { scope: string; operation: string; key: string };
interface Claim {
  id: KeyId;
  /** The claim's generation: every write of this owner is conditional on it. */
  createdAt: Date;
  stop(): void;
}

/** JSON with object keys sorted, so that field order does not make two bodies differ. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

export function idempotent(app: FastifyInstance, opts: IdempotencyOptions = {}) {
  const db = app.db;
  const clock = app.clock;
  const owned = new WeakMap<FastifyRequest, Claim>();
  const heartbeats = new Set<NodeJS.Timeout>();
  app.addHook("onClose", async () => {
    for (const timer of heartbeats) clearInterval(timer);
    heartbeats.clear();
  });

  /** Records the claim and keeps it alive (real-time timer, unref'd) until stop(). */
  function own(req: FastifyRequest, id: KeyId, createdAt: Date) {
    const mine = { ...id, createdAt, statusCode: null };
    let beating = false;
    const timer = setInterval(() => {
      if (beating) return;
      beating = true;
      db.idempotencyKey
        .updateMany({ where: mine, data: { claimedUntil: new Date(clock.now() + CLAIM_LEASE_MS) } })
        .then(
          (r) => {
            if (r.count === 0 && heartbeats.has(timer)) {
              req.log.warn({ idempotency_key: id.key }, "idempotency claim lost while the request runs");
              stop();
            }
          },
          (err) => req.log.warn({ err, idempotency_key: id.key }, "idempotency claim could not be extended"),
        )
        .finally(() => (beating = false));
    }, HEARTBEAT_MS);
    timer.unref();
    heartbeats.add(timer);
    const stop = () => {
      clearInterval(timer);
      heartbeats.delete(timer);
    };
    owned.set(req, { id, createdAt, stop });
  }

  return {
    preHandler: async (req: FastifyRequest, reply: FastifyReply) => {
      const key = req.headers["x-idempotency-key"];
      if (typeof key !== "string" || !req.principal) return;
      const scope = `${req.principal.kind}:${req.principal.id}`;
      const operation = String(req.routeOptions.config.operationId);
      const requestHash = createHash("sha256").update(canonical({ params: req.params, body: req.body ?? null })).digest("hex");
      const id = { scope, operation, key: key.toLowerCase() };
      const started = Date.now();
      for (;;) {
        const now = clock.now();
        const claim = { createdAt: new Date(now), expiresAt: new Date(now + IDEMPOTENCY_TTL_MS), claimedUntil: new Date(now + CLAIM_LEASE_MS) };
        try {
          await db.idempotencyKey.create({ data: { ...id, requestHash, ...claim } });
          own(req, id, claim.createdAt);
          return;
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
        }
        const prior = await db.idempotencyKey.findUnique({ where: { scope_operation_key: id } });
        if (!prior) continue; // removed meanwhile (expired, or the first request released it)
        if (prior.expiresAt.getTime() <= now) {
          await db.idempotencyKey.deleteMany({ where: { ...id, createdAt: prior.createdAt } });
          continue;
        }
        if (prior.requestHash !== requestHash) throw new AppError("idempotency_key_reused");
        if (prior.statusCode !== null && prior.responseBody !== null) {
          let body = prior.responseBody;
          if (opts.refresh && prior.statusCode < 300) body = JSON.stringify(await opts.refresh(JSON.parse(body), req));
          const headers = JSON.parse(prior.responseHeaders ?? "{}") as Record<string, string>;
          for (const [name, value] of Object.entries(headers)) reply.header(name, value);
          return reply.code(prior.statusCode).type("application/json; charset=utf-8").send(body);
        }
        // In flight, or dead. A row without a lease (written before leases existed) lasts one lease.
        const until = prior.claimedUntil?.getTime() ?? prior.createdAt.getTime() + CLAIM_LEASE_MS;
        if (until <= now) {
          const takeover = await db.idempotencyKey.updateMany({
            where: { ...id, createdAt: prior.createdAt, claimedUntil: prior.claimedUntil, statusCode: null },
            data: claim,
          });
          if (takeover.count === 1) {
            req.log.warn({ idempotency_key: id.key }, "took over a lapsed idempotency claim (its request failed or its process died)");
            own(req, id, claim.createdAt);
            return;
          }
          continue; // another retry took it, or the first finished meanwhile
        }
        if (Date.now() - started > WAIT_FOR_FIRST_MS) throw new AppError("conflict", { "X-Idempotency-Key": "a request with this key is still in progress" });
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    onSend: async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const claim = owned.get(req);
      if (!claim) return payload;
      owned.delete(req);
      claim.stop();
      const mine = { ...claim.id, createdAt: claim.createdAt, statusCode: null };
      try {
        if (reply.statusCode >= 500 || typeof payload !== "string" || (opts.keep && !opts.keep(reply.statusCode))) {
          await db.idempotencyKey.deleteMany({ where: mine });
          return payload;
        }
        const body = opts.redact && reply.statusCode < 300 ? JSON.stringify(opts.redact(JSON.parse(payload))) : payload;
        const lang = reply.getHeader("content-language");
        const stored = await db.idempotencyKey.updateMany({
          where: mine,
          data: {
            statusCode: reply.statusCode,
            responseBody: body,
            responseHeaders: JSON.stringify(lang === undefined ? {} : { "content-language": String(lang) }),
            claimedUntil: null,
          },
        });
        if (stored.count === 0) req.log.warn({ idempotency_key: claim.id.key }, "idempotency claim was taken over before the answer was stored");
      } catch (err) {
        // The answer goes out as it is; the claim lapses within CLAIM_LEASE_MS.
        req.log.error({ err, idempotency_key: claim.id.key }, "idempotency key could not be stored or released");
      }
      return payload;
    },
    // A response that went out without passing through onSend above still stops the heartbeat.
    onResponse: async (req: FastifyRequest) => {
      owned.get(req)?.stop();
      owned.delete(req);
    },
  };
}
