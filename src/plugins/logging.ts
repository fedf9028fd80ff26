// pino options: JSON logs, request id on every line, secrets redacted (Authorization, cookies,
// passwords, tokens, `?token=` query values).
import type { FastifyServerOptions } from "fastify";

const SECRET_QUERY = /([?&](?:token|access_token|refresh_token|signaling_token)=)[^&#]*/gi;
export const redactUrl = (url: string) => url.replace(SECRET_QUERY, "$1[Redacted]");

export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  "*.password",
  "*.token",
  "*.refresh_token",
  "*.access_token",
  "*.guest_token",
  "*.signaling_token",
  "*.credential",
];

export function loggerOptions(level: string, stream?: NodeJS.WritableStream): FastifyServerOptions["logger"] {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: { paths: REDACT_PATHS, censor: "[Redacted]" },
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
