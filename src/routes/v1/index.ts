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

export default async function v1Routes(app: FastifyInstance) {
  app.setErrorHandler(v1ErrorHandler);
  // Only JSON (and, where an operation declares it, multipart) bodies are read on this surface.
  app.removeContentTypeParser(["text/plain"]);
  // Text PostgreSQL cannot store (NUL, unpaired surrogates) is refused wherever it is sent, naming
  // the field, before the schema is checked.
  app.addHook("preValidation", async (req) => {
    for (const [part, value] of [["body", req.body], ["query", req.query], ["path", req.params]] as const) {
      const field = invalidTextAt(value);
      if (field !== null) throw validationError({ [field || part]: "must not contain NUL characters or unpaired surrogates" });
    }
  });
  // Resource plugins are registered below.
  await app.register(authRoutes);
  await app.register(userRoutes);
  await app.register(adminRoutes);
  await app.register(linkRoutes);
  await app.register(callRoutes);
  await app.register(paymentRoutes);
}

/** The dotted path of the first string (value or key) with invalid text, "" for the value itself, or null. */
function invalidTextAt(value: unknown, path = ""): string | null {
  if (typeof value === "string") return hasInvalidText(value) ? path : null;
  if (!value || typeof value !== "object") return null;
  for (const [key, item] of Object.entries(value)) {
    const here = path ? `${path}.${key}` : key;
    if (hasInvalidText(key)) return here;
    const found = invalidTextAt(item, here);
    if (found !== null) return found;
  }
  return null;
}
