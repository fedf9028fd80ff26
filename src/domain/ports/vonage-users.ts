// The Vonage Users API port (docs/vapp.md, "Vonage mode"): the application's users at Vonage, whose
// `USR-…` ids are the V-app users' ids. Names are unique within the application.
//
// Failures are typed so that the caller decides what to do; the adapter never retries:
//   VonageDuplicateName   the name is taken at Vonage (recognised by Vonage's code, whatever the status)
//   VonageUserNotFound    no such user (get, update, delete)
//   VonageUnavailable     Vonage could not be reached, timed out, failed (5xx) or rate-limits us (429).
//                         For a create (or any change) the outcome is unknown: the user may exist.
//                         Reconcile by name (findByName) before trying again.
//   VonageRefused         any other refusal (4xx), with Vonage's problem details: a bug or a
//                         misconfiguration (a wrong application id or key gives 401), not transient.

/** A user as the list answers it: list items carry no picture (Vonage's UserSummary). */
export interface VonageUserSummary {
  /** `USR-…` */
  id: string;
  name: string;
  displayName: string | null;
}

export interface VonageUser extends VonageUserSummary {
  imageUrl: string | null;
  /** `properties.custom_data`: what the application stored with the user ({} when nothing). */
  customData: Record<string, unknown>;
}

export interface VonageUsers {
  /** POST /v1/users. Throws VonageDuplicateName when the name is taken. */
  create(input: { name: string; displayName: string; imageUrl?: string; customData?: Record<string, unknown> }): Promise<VonageUser>;
  /** GET /v1/users/{id}. Throws VonageUserNotFound. */
  get(id: string): Promise<VonageUser>;
  /** The user with exactly this name (GET /v1/users?name=…), or null. */
  findByName(name: string): Promise<VonageUserSummary | null>;
  /** PATCH /v1/users/{id} with the fields given. Throws VonageUserNotFound (and VonageDuplicateName for a name taken). */
  update(id: string, changes: { name?: string; displayName?: string; imageUrl?: string }): Promise<VonageUser>;
  /** DELETE /v1/users/{id}. Throws VonageUserNotFound when it is already gone. */
  delete(id: string): Promise<void>;
  /** Every user of the application, a page (up to 100) at a time, in Vonage's order. */
  pages(): AsyncIterable<VonageUserSummary[]>;
}

/** Vonage's problem details (RFC 7807 style), as far as Vonage sent them. */
export interface VonageProblem {
  /** The HTTP status; 0 when no answer arrived. */
  status: number;
  type: string | null;
  title: string | null;
  /** Vonage's error code, e.g. `user:error:duplicate-name`. */
  code: string | null;
  detail: string | null;
  instance: string | null;
}

export class VonageUsersError extends Error {}

/** The name is taken by another user of the application. */
export class VonageDuplicateName extends VonageUsersError {
  constructor(
    readonly userName: string,
    readonly problem: VonageProblem,
  ) {
    super(`vonage: the name ${JSON.stringify(userName)} is taken (${problem.detail ?? problem.code})`);
  }
}

export class VonageUserNotFound extends VonageUsersError {
  constructor(readonly userId: string) {
    super(`vonage: no user ${userId}`);
  }
}

/** Not reached, timed out, failed or rate limited: try again later (after `retryAfterSeconds` when Vonage said). */
export class VonageUnavailable extends VonageUsersError {
  constructor(
    message: string,
    /** The HTTP status; 0 for a network failure or a timeout. */
    readonly status: number,
    /** From Retry-After, when Vonage sent one. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

/** Any other refusal (4xx). */
export class VonageRefused extends VonageUsersError {
  constructor(readonly problem: VonageProblem) {
    super(`vonage refused the request: ${problem.status} ${problem.code ?? problem.type ?? ""} ${problem.title ?? ""}: ${problem.detail ?? ""}`.replace(/\s+/g, " ").trim());
  }
}

/** Vonage's error code for a name already taken. */
export const DUPLICATE_NAME_CODE = "user:error:duplicate-name";
