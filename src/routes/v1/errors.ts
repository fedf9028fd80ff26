// The v1 error envelope {error: {code, message, details}}, message in the negotiated language.
// Also the format of unknown routes and of the operational endpoints.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AppError } from "../../domain/errors.ts";
import { messages, negotiateLanguage } from "../../http/i18n.ts";
import { toAppError } from "../../http/errors.ts";

export function renderV1(err: AppError, acceptLanguage: string | undefined) {
  const lang = negotiateLanguage(acceptLanguage);
  return {
    lang,
    body: { error: { code: err.code, message: messages[lang][err.code], details: err.details ?? null } },
  };
}

export function v1ErrorHandler(error: unknown, req: FastifyRequest, reply: FastifyReply) {
  const err = toAppError(error);
  if (err.code === "internal_error") req.log.error({ err: err.extra.cause ?? error }, "request failed");
  else if (err.code === "service_unavailable" && err.extra.cause) req.log.warn({ err: err.extra.cause }, "a service this request needs is unavailable");
  const { lang, body } = renderV1(err, req.headers["accept-language"]);
  if (err.extra.retryAfterSeconds !== undefined) reply.header("retry-after", err.extra.retryAfterSeconds);
  return reply.status(err.status).header("content-language", lang).type("application/json").send(body);
}
