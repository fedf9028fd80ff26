// The pages' only way to the HTTP API: a client typed by openapi.yaml (openapi-fetch over the
// generated `paths`), so a request or a response that drifts from the spec fails the type check.
// The signaling WebSocket (signaling.ts) is the one connection that does not go through it.
import createClient from "openapi-fetch";
import type { components, paths } from "../../contract/generated/api.d.ts";

export type Schemas = components["schemas"];
export type Call = Schemas["Call"];
export type CallSession = Schemas["CallSession"];
export type TurnCredentials = Schemas["TurnCredentials"];

/**
 * Where the API is: the pages are served by the API they talk to, and this script by it at
 * `<base>/app/<file>`, so the base is two steps up from the script's own URL. (PUBLIC_URL may
 * have a path, behind a proxy that strips it; the pages' own URL says nothing reliable about it.)
 */
export const API_BASE = new URL("../", import.meta.url);

export const api = createClient<paths>({ baseUrl: API_BASE.href.replace(/\/$/, "") });

/** A failed API call, with the API's own (localised) message, ready to be shown. */
export class ApiError extends Error {
  constructor(
    /** The HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** The error envelope's `code` (docs/api.md, "Errors"), or "network_error". */
    readonly code: string,
    message: string,
    readonly details: Record<string, string> | null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const UNREACHABLE = "The server could not be reached. Check your connection and try again.";

/** What every openapi-fetch method resolves to (the success and error variants merged). */
interface FetchResult<Data> {
  data?: Data;
  error?: unknown;
  response: Response;
}

/**
 * Waits for an openapi-fetch request and returns its data, or throws an ApiError carrying the
 * API's message. A success is decided by the HTTP status, not by `error`: an answer without a body
 * (204, or a proxy's empty 502) has neither `data` nor `error`.
 */
export async function request<Data>(pending: Promise<FetchResult<Data>>): Promise<Data> {
  let result: FetchResult<Data>;
  try {
    result = await pending;
  } catch (err) {
    // An abort is the caller's own doing (signing out, leaving): not an error to show.
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "network_error", UNREACHABLE, null);
  }
  const { response } = result;
  if (response.ok) return result.data as Data;
  throw toApiError(response.status, result.error);
}

function toApiError(status: number, body: unknown): ApiError {
  const envelope = (body as Partial<Schemas["Error"]> | undefined)?.error;
  if (envelope && typeof envelope.message === "string") {
    return new ApiError(status, envelope.code ?? "unknown", envelope.message, envelope.details ?? null);
  }
  // Not the API's envelope (a proxy's error page, an empty body): say what little is known.
  return new ApiError(status, "unknown", `The server answered with an error (HTTP ${status}). Please try again.`, null);
}

/**
 * The sentence to show for any error: the API's message, with each field's problem for a
 * validation error (the message alone, "Request validation failed.", would not say what to fix).
 */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    // A declined card says why: the decline code is what the guest (or their bank) can act on.
    if (err.code === "payment_declined" && err.details?.decline_code) return `Your card was declined (${err.details.decline_code}).`;
    if (err.code === "validation_error" && err.details) {
      const fields = Object.entries(err.details).map(([field, problem]) => `${field} ${problem}`);
      return `${err.message} ${fields.join("; ")}.`;
    }
    return err.message;
  }
  if (err instanceof DOMException && err.name === "NotAllowedError") {
    return "The camera and microphone are blocked. Allow them for this site and try again.";
  }
  if (err instanceof Error && err.message) return err.message;
  return "Something went wrong. Please try again.";
}

/** The Authorization header for a guest token or an access token. */
export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

/** Where a request's Authorization header comes from: the guest token, or the host's current access token. */
export type Auth = () => Promise<{ Authorization: string }>;

/** An Auth with nothing to authenticate with: the host's session has ended (or was never there). */
export class SignedOutError extends Error {
  constructor(message = "You are signed out. Please sign in again.") {
    super(message);
    this.name = "SignedOutError";
  }
}

/** Whether a request failed for want of credentials: signed out, or the token refused (401). */
export function isUnauthenticated(err: unknown): boolean {
  return err instanceof SignedOutError || (err instanceof ApiError && err.status === 401);
}

/**
 * Whether retrying the same request cannot help: a client error, other than 429 (too many
 * requests: later may do). Network errors (status 0) and 5xx may pass.
 */
export function isFinalError(err: unknown): err is ApiError {
  return err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429;
}

/** A fresh X-Idempotency-Key: one per user action, reused only to retry that very action. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
