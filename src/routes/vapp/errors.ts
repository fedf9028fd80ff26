// The V-app error shape: {type, title, detail[, invalid_parameters]} — exactly the original V-app server's bodies.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AppError } from "../../domain/errors.ts";
import { toAppError } from "../../http/errors.ts";

export interface VappError {
  status: number;
  body: { type: string; title: string; detail: string; invalid_parameters?: { name: string; reason: string }[] };
}

const params = (details: Record<string, unknown> | null) =>
  Object.entries(details ?? {}).map(([name, reason]) => ({ name, reason: String(reason) }));

const VALIDATION_DETAIL = "The request failed due to validation errors";
const INCORRECT_TOKEN = "The request failed due to an incorrect token";
const INVALID_CREDENTIALS = { type: "auth:unauthorized", title: "Bad Request", detail: "The request failed due to invalid credentials" };

export function renderVapp(err: AppError): VappError {
  switch (err.code) {
    case "validation_error":
      return { status: 403, body: { type: "data:validation", title: "Bad Request", detail: VALIDATION_DETAIL, invalid_parameters: params(err.details) } };
    case "conflict": {
      // The V-app calls the account's username `name`.
      const list = params(err.details).map((p) => (p.name === "username" ? { ...p, name: "name" } : p));
      return { status: 409, body: { type: "data:validation", title: "Bad Request", detail: VALIDATION_DETAIL, invalid_parameters: list } };
    }
    case "payload_too_large":
      return {
        status: 413,
        body: { type: "data:validation", title: "Payload Too Large", detail: "The request failed because it is too large", invalid_parameters: params(err.details) },
      };
    case "invalid_credentials":
    case "forbidden":
      return { status: 403, body: INVALID_CREDENTIALS };
    case "unauthorized":
      switch (err.extra.tokenProblem) {
        case "missing":
          return { status: 400, body: { type: "auth:missingtoken", title: "Bad Request", detail: "The request failed due to a missing token" } };
        case "missing_user_id":
          return { status: 400, body: { type: "auth:missinguserid", title: "Bad Request", detail: INCORRECT_TOKEN } };
        case "unknown_user":
          return { status: 403, body: INVALID_CREDENTIALS };
        case "webhook_signature":
          return { status: 401, body: { type: "auth:unauthorized", title: "Unauthorized", detail: "The request failed due to a missing or invalid webhook signature" } };
        default:
          return { status: 400, body: { type: "auth:badtoken", title: "Bad Request", detail: INCORRECT_TOKEN } };
      }
    case "rate_limited":
      return { status: 429, body: { type: "rate:limited", title: "Too Many Requests", detail: "The request failed because too many requests were made; try again later" } };
    case "method_not_allowed":
      return {
        status: 405,
        body: { type: "request:methodnotallowed", title: "Method Not Allowed", detail: "The request failed because the method is not allowed on this resource" },
      };
    case "not_found":
      return { status: 404, body: { type: "data:notfound", title: "Not Found", detail: "The requested resource does not exist" } };
    case "service_unavailable":
      return { status: 503, body: { type: "server:unavailable", title: "Service Unavailable", detail: "The service is temporarily unavailable" } };
    default:
      return { status: 500, body: { type: "server:error", title: "Internal Server Error", detail: "The request failed due to an unexpected error" } };
  }
}

/** The error handler of the V-app surface (its routes, and unmatched requests on its paths). */
export function vappErrorHandler(error: unknown, req: FastifyRequest, reply: FastifyReply) {
  const err = toAppError(error);
  if (err.code === "internal_error") req.log.error({ err: err.extra.cause ?? error }, "request failed");
  else if (err.code === "service_unavailable" && err.extra.cause) req.log.warn({ err: err.extra.cause }, "a service this request needs is unavailable");
  const { status, body } = renderVapp(err);
  if (err.extra.retryAfterSeconds !== undefined) reply.header("retry-after", err.extra.retryAfterSeconds);
  return reply.status(status).type("application/json").send(body);
}
