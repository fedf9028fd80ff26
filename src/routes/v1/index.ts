// The v1 surface: every route under /v1 answers errors in the v1 envelope, and JSON bodies must be
// sent as application/json (415 otherwise). One encapsulated plugin per resource is registered here.
import type { FastifyInstance } from "fastify";
import { v1ErrorHandler } from "./errors.ts";

export default async function v1Routes(app: FastifyInstance) {
  app.setErrorHandler(v1ErrorHandler);
  // Only JSON (and, where an operation declares it, multipart) bodies are read on this surface.
  app.removeContentTypeParser(["text/plain"]);
  // Resource plugins are registered below, e.g.:
  // await app.register(authRoutes);
}
