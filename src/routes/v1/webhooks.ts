// POST /v1/webhooks/stripe: the payment provider's events. The signature covers the exact bytes
// sent, so inside this plugin the JSON parser keeps the raw body next to the parsed one.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { validationError } from "../../domain/errors.ts";

/** Stripe's events are a few kilobytes; generous, and still small. */
const MAX_EVENT_BYTES = 1024 * 1024;

declare module "fastify" {
  interface FastifyRequest {
    /** The body as received (webhook routes only), for signature checks. */
    rawBody: Buffer | null;
  }
}

export default async function webhookRoutes(app: FastifyInstance) {
  app.decorateRequest("rawBody", null);
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer", bodyLimit: MAX_EVENT_BYTES }, (req, body, done) => {
    const raw = body as Buffer;
    req.rawBody = raw;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      return done(validationError({ body: "must be valid JSON" }), undefined);
    }
    done(null, parsed);
  });

  implement(app, "stripeWebhook", async (req) => {
    const signature = req.headers["stripe-signature"];
    const { duplicate } = await app.services.webhooks.receive(req.rawBody ?? Buffer.alloc(0), typeof signature === "string" ? signature : undefined);
    return { received: true as const, duplicate };
  });
}
