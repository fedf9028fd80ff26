// The one error type. Domain modules throw AppError(code, details); each API surface renders it in
// its own format (v1 envelope in routes/v1/errors.ts, the V-app shape in routes/vapp/errors.ts).

export const errorStatus = {
  validation_error: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  payment_declined: 402,
  stripe_error: 402,
  stripe_not_connected: 402,
  forbidden: 403,
  not_found: 404,
  link_not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  call_not_active: 409,
  idempotency_key_reused: 409,
  link_unavailable: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/** Field → message, in the order the fields were checked. */
export type FieldErrors = Record<string, string>;

/**
 * Why a bearer token was refused; the V-app surface shows this, v1 answers `unauthorized` for all.
 * `webhook_signature`: a Vonage webhook whose signed token is missing or does not verify.
 */
export type TokenProblem = "missing" | "invalid" | "missing_user_id" | "unknown_user" | "webhook_signature";

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly details: Record<string, unknown> | null = null,
    readonly extra: { tokenProblem?: TokenProblem; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(code);
    this.status = errorStatus[code];
  }
}

export const validationError = (fields: FieldErrors) => new AppError("validation_error", fields);
/** A well-formed token whose account (or guest) no longer exists: refused like any invalid token. */
export const unknownCaller = () => new AppError("unauthorized", null, { tokenProblem: "unknown_user" });
/** A Vonage webhook request that Vonage did not sign (vonage-webhooks.ts). */
export const unsignedWebhook = () => new AppError("unauthorized", null, { tokenProblem: "webhook_signature" });
/** The payment provider is unreachable or throttling us: try again after a few seconds. */
export const paymentsUnavailable = (retryAfterSeconds: number, cause?: unknown) =>
  new AppError("service_unavailable", { reason: "payments_unavailable" }, { retryAfterSeconds, cause });
export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
