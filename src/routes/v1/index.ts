// The v1 surface: every route under /v1 answers errors in the v1 envelope, and JSON bodies must be
// sent as application/json (415 otherwise). One encapsulated plugin per resource is registered here.
import type { FastifyInstance } from "fastify";
import { validationError } from "../../domain/errors.ts";
import { hasInvalidText } from "../../domain/text.ts";
import { v1ErrorHandler } from "./errors.ts";
import authRoutes from "./auth.ts";
import userRoutes from "./users.ts";
import adminRoutes from "./admin.ts";
import linkRoutes from "./links.ts";
import callRoutes from "./calls.ts";
import paymentRoutes from "./payments.ts";
import webhookRoutes from "./webhooks.ts";
import notificationRoutes from "./notifications.ts";

export default async function v1Routes(app: FastifyInstance) {
  app.setErrorHandler(v1ErrorHandler);
  // Only JSON (and, where an operation declares it, multipart) bodies are read on this surface.
  app.removeContentTypeParser(["text/plain"]);
  // Text PostgreSQL cannot store (NUL, unpaired surrogates) is refused wherever the operation reads
  // it, naming the field, before the schema is checked. Parts an operation does not declare (a
  // query string, a JSON body sent to an operation that takes none) are ignored; such a body is
  // dropped here, so that nothing after this point (handlers, idempotency hashes) ever walks it.
  app.addHook("preValidation", (req, _reply, done) => {
    const schema = req.routeOptions.schema ?? {};
    if (!schema.body) req.body = undefined;
    const parts = [
      ["body", req.body],
      ["query", schema.querystring ? req.query : undefined],
      ["path", req.params],
    ] as const;
    for (const [part, value] of parts) {
      const field = invalidTextAt(value);
      if (field !== null) return done(validationError({ [field || part]: "must not contain NUL characters or unpaired surrogates" }));
    }
    done();
  });
  // Resource plugins are registered below.
  await app.register(authRoutes);
  await app.register(userRoutes);
  await app.register(adminRoutes);
  await app.register(linkRoutes);
  await app.register(callRoutes);
  await app.register(paymentRoutes);
  await app.register(webhookRoutes);
  await app.register(notificationRoutes);
}

/**
 * The dotted path of the first string (value or key) with invalid text, "" for the value itself,
 * or null. Iterative: a body may nest deeper than the call stack before its schema is checked.
 */
function invalidTextAt(value: unknown): string | null {
  // [value, its path, whether its own key is invalid]; children are pushed in reverse, so that the
  // first offending field in document order is the one reported.
  const stack: [unknown, string, boolean][] = [[value, "", false]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [item, path, badKey] = next;
    if (badKey || (typeof item === "string" && hasInvalidText(item))) return path;
    if (item && typeof item === "object") {
      for (const [key, child] of Object.entries(item).reverse()) {
        stack.push([child, path ? `${path}.${key}` : key, hasInvalidText(key)]);
      }
    }
  }
  return null;
}
