// Vonage's webhooks on the V-app surface (docs/vapp.md, "Vonage webhooks"), as the original V-app
// server answered them: the answer webhook's call control object (NCCO), and the voice and RTC
// events, logged and acknowledged. With VONAGE_SIGNATURE_SECRET set, Vonage must have signed each
// request: its token is checked before the body is read, the body's hash once it has been.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { implement } from "../../contract/routes.ts";
import { AppError, unsignedWebhook, validationError } from "../../domain/errors.ts";
import { nowSeconds } from "../../domain/ports/clock.ts";
import { hasInvalidText } from "../../domain/text.ts";
import { webhookVerifier, type WebhookClaims } from "../../domain/vonage-webhooks.ts";

const JSON_MEDIA_TYPE = /^\s*application\/json\s*(;|$)/i;
const TEXT_TYPE = "text/plain; charset=utf-8";
const EMPTY = Buffer.alloc(0);
/** Longest text of an event's field that is logged. */
const LOGGED_CHARS = 100;

export default async function vonageWebhookRoutes(app: FastifyInstance) {
  const { signatureSecret, application } = app.config.vonage;

  // Served only where Vonage is configured: elsewhere these are unknown paths (404), not endpoints
  // anyone may post to, parse and log.
  if (application === undefined && signatureSecret === undefined) {
    app.addHook("onRequest", async () => {
      throw new AppError("not_found");
    });
  } else if (signatureSecret === undefined && app.config.env === "production") {
    app.log.warn("VONAGE_SIGNATURE_SECRET is not set: the voice and RTC webhooks accept requests nobody signed");
  }

  // Every body is kept as sent (a signed request's hash covers these bytes) and read as JSON when
  // its type says so; any other body, or JSON that is not an object, counts as none.
  const sentBodies = new WeakMap<FastifyRequest, Buffer>();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (req, body, done) => {
    const bytes = body as Buffer;
    sentBodies.set(req, bytes);
    if (!JSON_MEDIA_TYPE.test(req.headers["content-type"] ?? "")) return done(null, undefined);
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString("utf8"));
    } catch {
      return done(null, undefined);
    }
    done(null, value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined);
  });

  if (signatureSecret !== undefined) {
    const verifier = webhookVerifier(signatureSecret, application?.id);
    const verified = new WeakMap<FastifyRequest, WebhookClaims>();
    app.addHook("onRequest", async (req) => {
      const claims = verifier.verify(req.headers.authorization, nowSeconds(app.clock));
      if (!claims) throw unsignedWebhook();
      verified.set(req, claims);
    });
    // A GET's query is not covered (its hash, when Vonage sends one, is over a rendering of the
    // query that cannot be reproduced reliably); anything with a body is.
    app.addHook("preValidation", async (req) => {
      if (req.method === "GET" || req.method === "HEAD") return;
      if (!verifier.covers(verified.get(req)!, sentBodies.get(req) ?? EMPTY)) throw unsignedWebhook();
    });
  }

  // `to` names a destination when it could be a user's name (the signup rules' lengths); it is not looked up.
  const name = app.contract.dereferenced.components.schemas.VappSignupRequest.properties.name as { minLength: number; maxLength: number };
  const destination = (to: string | null | undefined) => {
    if (typeof to !== "string" || hasInvalidText(to)) return undefined;
    const length = [...to].length;
    return length >= name.minLength && length <= name.maxLength ? to : undefined;
  };
  const ncco = (to: string | undefined) =>
    to === undefined
      ? [{ action: "talk" as const, text: "No destination user - hanging up" }]
      : [
          { action: "talk" as const, text: `Connecting you to ${to}` },
          { action: "connect" as const, endpoint: [{ type: "app" as const, user: to }] },
        ];

  implement(app, "vappVoiceAnswer", async (req) => ncco(destination(req.query.to)));

  implement(
    app,
    "vappVoiceAnswerPost",
    async (req) => {
      const to: unknown = req.body?.to;
      if (to !== undefined && to !== null && typeof to !== "string") throw validationError({ to: "must be a string" });
      return ncco(destination(to));
    },
    // The body was read by the parser above; only `to` matters.
    { validateBody: false },
  );

  /** An event's identifying fields, for the log (what Vonage sends is not trusted to be small). */
  const summary = (body: Record<string, unknown> | null | undefined, fields: string[]) => {
    const out: Record<string, string | number> = {};
    for (const f of fields) {
      const v = body?.[f];
      if (typeof v === "string") out[f] = v.slice(0, LOGGED_CHARS);
      else if (typeof v === "number") out[f] = v;
    }
    return out;
  };

  implement(
    app,
    "vappVoiceEvents",
    async (req, reply) => {
      req.log.info({ voice_event: summary(req.body, ["status", "uuid", "conversation_uuid"]) }, "voice event");
      return reply.type(TEXT_TYPE).code(200).send("OK");
    },
    { validateBody: false },
  );

  implement(
    app,
    "vappRtcEvents",
    async (req, reply) => {
      req.log.info({ rtc_event: summary(req.body, ["type", "id", "conversation_id"]) }, "rtc event");
      return reply.type(TEXT_TYPE).code(200).send("OK");
    },
    { validateBody: false },
  );
}
