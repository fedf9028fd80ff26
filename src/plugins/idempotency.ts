// X-Idempotency-Key (SPEC 4.7). A key is a UUID scoped to the caller and the operation and kept
// 24 hours. The first request with a key runs and its response (status, body, content language)
// is stored; the same key with the same request replays that response byte for byte; the same key
// with a different request is 409 idempotency_key_reused; a duplicate that arrives while the first
// is still running waits for it (up to a few seconds, then 409 conflict). 5xx answers are not kept,
// so a retry after a server failure runs again. Usage: implement(app, op, handler, { route: idempotent(app) }).
import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isUniqueViolation } from "../domain/accounts.ts";
import { AppError } from "../domain/errors.ts";

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const WAIT_FOR_FIRST_MS = 5_000;
const owned = new WeakMap<FastifyRequest, { scope: string; operation: string; key: string }>();

/** JSON with object keys sorted, so that field order does not make two bodies differ. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

export function idempotent(app: FastifyInstance) {
  const db = app.db;
  const clock = app.clock;
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
        try {
          await db.idempotencyKey.create({
            data: { ...id, requestHash, createdAt: new Date(now), expiresAt: new Date(now + IDEMPOTENCY_TTL_MS) },
          });
          owned.set(req, id);
          return;
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
        }
        const prior = await db.idempotencyKey.findUnique({ where: { scope_operation_key: id } });
        if (!prior) continue; // removed meanwhile (expired, or the first request failed with a 5xx)
        if (prior.expiresAt.getTime() <= now) {
          await db.idempotencyKey.deleteMany({ where: { ...id, createdAt: prior.createdAt } });
          continue;
        }
        if (prior.requestHash !== requestHash) throw new AppError("idempotency_key_reused");
        if (prior.statusCode !== null && prior.responseBody !== null) {
          const headers = JSON.parse(prior.responseHeaders ?? "{}") as Record<string, string>;
          for (const [name, value] of Object.entries(headers)) reply.header(name, value);
          return reply.code(prior.statusCode).type("application/json; charset=utf-8").send(prior.responseBody);
        }
        if (Date.now() - started > WAIT_FOR_FIRST_MS) throw new AppError("conflict", { "X-Idempotency-Key": "a request with this key is still in progress" });
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    onSend: async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const id = owned.get(req);
      if (!id) return payload;
      owned.delete(req);
      if (reply.statusCode >= 500 || typeof payload !== "string") {
        await db.idempotencyKey.deleteMany({ where: id });
      } else {
        const lang = reply.getHeader("content-language");
        await db.idempotencyKey.update({
          where: { scope_operation_key: id },
          data: {
            statusCode: reply.statusCode,
            responseBody: payload,
            responseHeaders: JSON.stringify(lang === undefined ? {} : { "content-language": String(lang) }),
          },
        });
      }
      return payload;
    },
  };
}
