// Vonage's signed webhooks (docs/vapp.md, "Vonage webhooks"). Vonage signs each delivery with the
// account's signature secret: `Authorization: Bearer <JWT>`, HS256, claims `iat`, `jti`, `iss`
// ("Vonage"), `payload_hash` (the lowercase hex SHA-256 of the body), `api_key` and, for an
// application's webhooks, `application_id`. The token is checked by hand, HS256 only: a general
// verifier that also takes RS256 tokens invites algorithm confusion, and the hash needs the body.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** How far `iat` may be from now, either way (seconds): deliveries are fresh, clocks drift a little. */
export const WEBHOOK_TOKEN_TOLERANCE_SECONDS = 300;
/** Vonage's tokens are a few hundred characters; anything much longer is not one. */
const MAX_TOKEN_CHARS = 4096;
const BEARER = /^Bearer +([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+) *$/i;

/** What a verified token says about the request. */
export interface WebhookClaims {
  /** The hash of the body the token was issued for, when it names one. */
  payloadHash: string | undefined;
}

export interface WebhookVerifier {
  /** The claims of the token in an `Authorization` header when Vonage signed it and it is current; null otherwise. */
  verify(authorization: string | undefined, nowSeconds: number): WebhookClaims | null;
  /** Whether the verified token was issued for exactly these body bytes. */
  covers(claims: WebhookClaims, body: Buffer): boolean;
}

/** Compares in time independent of where the texts differ. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function jsonObject(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * A verifier for the tokens signed with `secret`. `applicationId` (lowercase), when the Vonage
 * application is configured: a token naming another application is refused.
 */
export function webhookVerifier(secret: string, applicationId: string | undefined): WebhookVerifier {
  return {
    verify(authorization, now) {
      if (authorization === undefined || authorization.length > MAX_TOKEN_CHARS) return null;
      const parts = BEARER.exec(authorization);
      if (!parts) return null;
      const [, header = "", payload = "", signature = ""] = parts;
      const head = jsonObject(header);
      if (head?.alg !== "HS256" || head.crit !== undefined) return null;
      if (!sameText(createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url"), signature)) return null;
      const claims = jsonObject(payload);
      if (!claims || claims.iss !== "Vonage") return null;
      const { iat, exp, nbf, application_id: application, payload_hash: hash } = claims;
      if (!isTime(iat) || Math.abs(now - iat) > WEBHOOK_TOKEN_TOLERANCE_SECONDS) return null;
      if (exp !== undefined && (!isTime(exp) || exp <= now)) return null;
      if (nbf !== undefined && (!isTime(nbf) || nbf > now + WEBHOOK_TOKEN_TOLERANCE_SECONDS)) return null;
      if (applicationId && application !== undefined && (typeof application !== "string" || application.toLowerCase() !== applicationId)) return null;
      if (hash !== undefined && typeof hash !== "string") return null;
      return { payloadHash: hash };
    },
    covers(claims, body) {
      return claims.payloadHash !== undefined && sameText(createHash("sha256").update(body).digest("hex"), claims.payloadHash);
    },
  };
}
