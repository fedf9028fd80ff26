// Who is asking. The security hooks produce a Principal (src/plugins/auth.ts); handlers and domain
// functions take it. Account roles rank user < verified_user < host < admin, and a guest is below
// them all (docs/tokens.md); a call's participants are its host and its guest (ParticipantRole).
import type { User } from "../db/generated/client.ts";

/** Account roles, lowest first. */
export const USER_ROLES = ["user", "verified_user", "host", "admin"] as const satisfies readonly User["role"][];
export type UserRole = (typeof USER_ROLES)[number];

/**
 * The token a caller presented: its `jti`, when it expires, and when the sign-in that began its
 * session happened (`auth_time`; null for a token without it: a V-app token), ms since the epoch.
 */
export type PresentedToken = { id: string; expiresAt: number; signedInAt: number | null };
/** A signed-in user, with the account row as the security hook read it for this request. */
export type UserPrincipal = { kind: "user"; id: string; role: UserRole; account: User; token: PresentedToken };
/** A guest (guest token): no account, only an id. */
export type GuestPrincipal = { kind: "guest"; id: string };
export type Principal = UserPrincipal | GuestPrincipal;
/** What the domain's rules need of a principal: which kind, and its id. */
export type PrincipalRef = Pick<Principal, "kind" | "id">;

/** A caller's side of a call. */
export type ParticipantRole = "host" | "guest";

