// Turns anything thrown into an AppError (framework errors included), so that each surface has a
// single renderer. Unknown errors become internal_error and are logged; their text never leaves.
import type { FastifyError } from "fastify";
import { PaymentsRefused, PaymentsUnavailable } from "../domain/ports/payments.ts";
import { StorageUnavailable } from "../domain/ports/storage.ts";
import { AppError, paymentsUnavailable, type FieldErrors } from "../domain/errors.ts";

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Ajv issues → { "field.path": "message" }, first issue per field. */
export function fieldErrorsFromAjv(issues: AjvIssue[], context?: string): FieldErrors {
  const out: FieldErrors = {};
  for (const i of issues) {
    if (i.keyword === "if") continue; // the failed branch's own issues follow
    let field = i.instancePath.replace(/^\//, "").replace(/\//g, ".");
    let message = i.message ?? "is invalid";
    if (i.keyword === "required") {
      field = [field, String(i.params.missingProperty)].filter(Boolean).join(".");
      message = "is required";
    } else if (i.keyword === "additionalProperties") {
      field = [field, String(i.params.additionalProperty)].filter(Boolean).join(".");
      message = "is not allowed";
    } else if (i.keyword === "format") {
      message = i.params.format === "email" ? "must be a valid email address" : `must be a valid ${String(i.params.format).replace("-", " ")}`;
    } else if (i.keyword === "type") {
      const type = String(i.params.type).replace(",", " or ");
      message = `must be ${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
    } else if (i.keyword === "minLength") {
      message = i.params.limit === 1 ? "must not be empty" : `must be at least ${i.params.limit} characters`;
    } else if (i.keyword === "maxLength") {
      message = `must be at most ${i.params.limit} characters`;
    }
    if (!field) field = context === "body" ? "body" : (context ?? "request");
    if (!(field in out)) out[field] = message;
  }
  return out;
}

const frameworkCodes: Record<string, (e: FastifyError) => AppError> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new AppError("unsupported_media_type"),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new AppError("validation_error", { body: "has an invalid length" }),
  FST_ERR_CTP_BODY_TOO_LARGE: () => new AppError("payload_too_large"),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new AppError("validation_error", { body: "must be valid JSON" }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new AppError("validation_error", { body: "must not be empty" }),
  FST_ERR_CTP_EMPTY_TYPE: () => new AppError("unsupported_media_type"),
  FST_ERR_CTP_INVALID_TYPE: () => new AppError("unsupported_media_type"),
  FST_INVALID_MULTIPART_CONTENT_TYPE: () => new AppError("unsupported_media_type"),
  FST_REQ_FILE_TOO_LARGE: () => new AppError("payload_too_large"),
  FST_PARTS_LIMIT: () => new AppError("payload_too_large"),
  FST_FILES_LIMIT: () => new AppError("payload_too_large"),
  FST_FIELDS_LIMIT: () => new AppError("payload_too_large"),
  FST_ERR_BAD_URL: () => new AppError("not_found"),
  FST_ERR_MAX_PARAM_LENGTH: () => new AppError("not_found"),
  FST_ERR_ASYNC_CONSTRAINT: () => new AppError("not_found"),
};

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  // The payment provider: unreachable or throttling → 503 with Retry-After; a refusal → 402.
  if (err instanceof PaymentsUnavailable) return paymentsUnavailable(err.retryAfterSeconds, err);
  if (err instanceof PaymentsRefused) return new AppError("stripe_error", { stripe_code: err.code });
  // The media store (S3) cannot be reached, fails or refuses us → 503 with Retry-After.
  if (err instanceof StorageUnavailable) return new AppError("service_unavailable", { reason: "storage_unavailable" }, { retryAfterSeconds: 5, cause: err });
  const e = err as FastifyError & { validation?: AjvIssue[]; validationContext?: string };
  if (e && Array.isArray(e.validation)) {
    return new AppError("validation_error", fieldErrorsFromAjv(e.validation, e.validationContext));
  }
  const mapped = e?.code ? frameworkCodes[e.code] : undefined;
  if (mapped) return mapped(e);
  // Malformed requests the HTTP layer rejects itself (e.g. a multipart body that is not one).
  if (e && typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return new AppError("payload_too_large");
    if (e.statusCode === 415) return new AppError("unsupported_media_type");
    return new AppError("validation_error", { body: "is malformed" });
  }
  return new AppError("internal_error", null, { cause: err });
}
