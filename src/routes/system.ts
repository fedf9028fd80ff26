// Operational endpoints: liveness, readiness, V-app hosting parity, JWKS, the OpenAPI and AsyncAPI
// documents, human-readable docs, and public media.
import type { FastifyInstance } from "fastify";
import { implement } from "../contract/routes.ts";
import { AppError } from "../domain/errors.ts";
import { MEDIA_CACHE_CONTROL } from "../domain/ports/storage.ts";

// Liveness probes come every few seconds from every load balancer: they are not access-logged
// (a failure still is, at warn or error).
const PROBE = { route: { logLevel: "warn" as const } };

export default async function systemRoutes(app: FastifyInstance) {
  implement(app, "getHealth", async () => ({ status: "ok" as const }), PROBE);

  implement(app, "getReady", async (_req, reply) => {
    const checks = await app.readinessChecks();
    const ok = Object.values(checks).every((c) => c === "ok");
    return reply.status(ok ? 200 : 503).send({ status: ok ? "ok" : "unavailable", checks });
  });

  implement(app, "getVappHealth", async (_req, reply) => reply.type("text/plain; charset=utf-8").code(200).send("OK"), PROBE);

  implement(app, "getJwks", async (_req, reply) => {
    reply.header("cache-control", "public, max-age=300");
    return app.keyring.jwks();
  });

  implement(app, "getOpenApiDocument", async (_req, reply) => {
    reply.header("cache-control", "public, max-age=300");
    return reply.type("application/json").code(200).send(app.openApiJson);
  });

  implement(app, "getAsyncApiDocument", async (_req, reply) => {
    reply.header("cache-control", "public, max-age=300");
    return reply.type("application/json").code(200).send(app.asyncApiJson);
  });

  implement(app, "getMedia", async (req, reply) => {
    const { key } = req.params as { key: string };
    const object = await app.storage.get(key);
    if (!object) throw new AppError("not_found");
    return reply
      .type(object.contentType)
      .header("content-length", object.size)
      .header("cache-control", MEDIA_CACHE_CONTROL)
      .header("x-content-type-options", "nosniff")
      .code(200)
      .send(object.stream);
  });
}
