// pino options: JSON logs, request id on every line (and the trace's ids when tracing is on), secrets
// redacted (Authorization, cookies, passwords, tokens, `?token=` query values).
import { trace } from "@opentelemetry/api";
import type { FastifyServerOptions } from "fastify";

/** Query parameters that carry a credential (the signaling socket's `?token=`): never logged nor traced. */
export const SECRET_QUERY_PARAMS = ["token", "access_token", "refresh_token", "signaling_token"];
/** Personal data in Vonage's answer webhook's query (the caller's and callee's numbers, the app's custom data): not traced. */
export const PERSONAL_QUERY_PARAMS = ["to", "from", "custom_data"];
const SECRET_QUERY = new RegExp(`([?&](?:${SECRET_QUERY_PARAMS.join("|")})=)[^&#]*`, "gi");
/** Vonage's webhooks (/voice/…, /rtc/…): their whole query is personal data (numbers, SIP headers), never logged. */
const WEBHOOK_PATH = /^\/(?:voice|rtc)\//;
export const redactUrl = (url: string) =>
  WEBHOOK_PATH.test(url) ? url.replace(/\?.*$/s, "?[Redacted]") : url.replace(SECRET_QUERY, "$1[Redacted]");

const CENSOR = "[Redacted]";
const SECRET_KEYS = ["password", "token", "refresh_token", "access_token", "guest_token", "signaling_token", "credential", "authorization", "cookie", "set-cookie"];
const hasSecret = (v: object) => SECRET_KEYS.some((k) => Object.hasOwn(v, k));

function censored<T extends object>(v: T): T {
  // An error's message, stack and cause chain are not enumerable: they are copied by name.
  const copy =
    v instanceof Error
      ? Object.assign(Object.create(Object.getPrototypeOf(v) as object) as T, v, {
          message: v.message,
          stack: v.stack,
          ...("cause" in v ? { cause: v.cause } : {}),
          ...(v instanceof AggregateError ? { errors: v.errors } : {}),
        })
      : { ...v };
  for (const k of SECRET_KEYS) if (Object.hasOwn(copy, k)) (copy as Record<string, unknown>)[k] = CENSOR;
  return copy;
}

/**
 * A secret-named property of the logged object or of any object in it (`{ headers }`, `{ body }`,
 * an error) is replaced; the object is copied, never changed. Pino's `redact` paths would do this
 * at about 13 µs a line (this: a few property checks). Requests and replies are logged through
 * the serializers below, which keep no header.
 */
export function redactSecretKeys(obj: Record<string, unknown>): Record<string, unknown> {
  let out = hasSecret(obj) ? censored(obj) : obj;
  for (const key of Object.keys(out)) {
    const v = out[key];
    if (v === null || typeof v !== "object" || !hasSecret(v)) continue;
    if (out === obj) out = { ...obj };
    out[key] = censored(v);
  }
  return out;
}

/**
 * Tracing (src/telemetry.ts): the ids of the span active where a line is written, so that a
 * request's lines (request_id) lead to its trace. Reads the context AsyncLocalStorage carries.
 */
function traceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

export function loggerOptions(
  level: string,
  stream?: NodeJS.WritableStream,
  opts: { traceIds?: boolean } = {},
): FastifyServerOptions["logger"] {
  return {
    level,
    ...(stream ? { stream } : {}),
    ...(opts.traceIds ? { mixin: traceIds } : {}),
    formatters: { log: redactSecretKeys },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; headers: Record<string, unknown> }) => ({
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.ip,
        userAgent: req.headers["user-agent"],
      }),
    },
  };
}
