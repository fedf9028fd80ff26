// The v1 surface: every route under /v1 answers errors in the v1 envelope, and JSON bodies must be
// sent as application/json (415 otherwise). One encapsulated plugin per resource is registered here.
import type { FastifyInstance } from "fastify";
import { v1ErrorHandler } from "./errors.ts";
import authRoutes from "./auth.ts";
import userRoutes from "./users.ts";
import adminRoutes from "./admin.ts";
import linkRoutes from "./links.ts";
import callRoutes from "./calls.ts";
import paymentRoutes from "./payments.ts";

export default async function v1Routes(app: FastifyInstance) {
  app.setErrorHandler(v1ErrorHandler);
  // Only JSON (and, where an operation declares it, multipart) bodies are read on this surface.
  app.removeContentTypeParser(["text/plain"]);
  // Resource plugins are registered below.
  await app.register(authRoutes);
  await app.register(userRoutes);
  await app.register(adminRoutes);
  await app.register(linkRoutes);
  await app.register(callRoutes);
  await app.register(paymentRoutes);
}
