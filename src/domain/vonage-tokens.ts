// Tokens in the Vonage format, signed with the Vonage application's private key (docs/vapp.md,
// "Vonage mode"). In Vonage mode the V-app session token is the Vonage Client SDK's: the client
// hands it to the SDK (`createSession`), Vonage checks it against the application's public key,
// and this service checks it too on the V-app routes that need a caller.
//
// The token is what Vonage's own server SDK makes (@vonage/jwt `tokenGenerate`): header
// {"alg":"RS256","typ":"JWT"}; claims `acl`, `sub`, `user_id`, `jti`, `iat`, `exp`,
// `application_id`, and nothing else: no `iss`, no `aud`. What tells it from the service's own
// tokens is the key that signed it: the application's key is never one of the keyring's
// verification keys (loadKeyring refuses the same key for both), and this verifier trusts that key
// alone, so a v1 token is refused here and one of these is refused on v1.
//
// No `kid` header. Vonage's SDKs never send one, and whether Vonage accepts a token with a `kid`
// that names no key it knows is not documented: a Client SDK token that Vonage refuses would break
// the one thing Vonage mode is for. An outside verifier still finds the key: the JWKS lists it, and
// a verifier that meets a token without `kid` tries each RS256 key of the set (jose's documented
// way: the JWKSMultipleMatchingKeys error iterates over the candidates).
import { randomUUID } from "node:crypto";
import { createSigner, createVerifier } from "fast-jwt";
import type { Clock } from "./ports/clock.ts";
import type { SigningKey } from "./keys.ts";

/** The Client SDK paths a session token grants, as the original V-app server granted them. */
export const CLIENT_SDK_ACL = {
  paths: {
    "/*/rtc/**": {},
    "/*/users/**": {},
    "/*/conversations/**": {},
    "/*/sessions/**": {},
    "/*/devices/**": {},
    "/*/image/**": {},
    "/*/media/**": {},
    "/*/applications/**": {},
    "/*/push/**": {},
    "/*/knocking/**": {},
    "/*/legs/**": {},
  },
} as const;

/** A session token's lifetime, in seconds (Vonage allows at most 24 hours). */
export const CLIENT_TOKEN_TTL = 3600;

export interface VonageApplication {
  id: string;
  key: SigningKey;
}

const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Signs and verifies the application's session tokens. `iatSkewMs`: how far in the future a
 * token's `iat` may be before it is refused.
 */
export function vonageTokens(application: VonageApplication, opts: { clock: Clock; iatSkewMs: number }) {
  const { clock, iatSkewMs } = opts;
  // Both built once: the PEM is parsed here, not per token.
  const signer = createSigner({ key: application.key.privateKeyPem, algorithm: "RS256" });
  const verifier = createVerifier({
    key: application.key.publicKeyPem,
    algorithms: ["RS256"],
    requiredClaims: ["application_id", "sub", "acl", "jti", "iat", "exp"],
    // Expiry is checked below against the injected clock (fast-jwt's clock is fixed per verifier).
    ignoreExpiration: true,
    // Claims of the tokens whose signature was checked, by the token's SHA-256 (auth.ts, bearerVerifier).
    cache: VERIFIED_CACHE_SIZE,
  });

  return {
    /** A Client SDK session token for a user: `sub` = the name, `user_id` = the `USR-…` id, 1 hour. */
    session(user: { name: string; userId: string }): string {
      const iat = Math.floor(clock.now() / 1000);
      return signer({ acl: CLIENT_SDK_ACL, sub: user.name, user_id: user.userId, jti: randomUUID(), iat, exp: iat + CLIENT_TOKEN_TTL, application_id: application.id });
    },

    /**
     * The claims of a session token of this application: RS256, the application's key, its
     * `application_id`, every claim the service issues present, no `aud` (none of these has one),
     * unexpired and not issued in the future. Null for any other token.
     */
    verifySession(token: string): Record<string, unknown> | null {
      let claims: Record<string, unknown>;
      try {
        claims = verifier(token);
      } catch {
        return null;
      }
      if (claims.application_id !== application.id || "aud" in claims) return null;
      const now = clock.now();
      if (typeof claims.exp !== "number" || claims.exp * 1000 < now) return null;
      if (typeof claims.iat !== "number" || claims.iat * 1000 > now + iatSkewMs) return null;
      return claims;
    },
  };
}

export type VonageTokens = ReturnType<typeof vonageTokens>;
