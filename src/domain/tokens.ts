// Opaque tokens: refresh tokens (rotated on every use, families revoked on reuse), single-use mail
// tokens (e-mail verification, password reset) and guests. A token is a prefix and 256 random
// bits; only its SHA-256 digest is stored, so a copy of the database cannot be used to sign in.
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db/client.ts";
import type { Clock } from "./ports/clock.ts";
import { uuidv7 } from "./ids.ts";

export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;
export const VERIFY_EMAIL_TTL_MS = 48 * 3600 * 1000;
export const PASSWORD_RESET_TTL_MS = 3600 * 1000;

export type MailPurpose = "verify_email" | "password_reset";
const MAIL_PREFIX: Record<MailPurpose, string> = { verify_email: "ev_", password_reset: "pr_" };
const MAIL_TTL: Record<MailPurpose, number> = { verify_email: VERIFY_EMAIL_TTL_MS, password_reset: PASSWORD_RESET_TTL_MS };

/** `prefix` + 32 random bytes in base64url (43 characters). */
export const newOpaqueToken = (prefix: string) => prefix + randomBytes(32).toString("base64url");
export const digest = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

/** `signedInAt`: when the session began (the sign-in that started the token's family), unix ms. */
export type RefreshOutcome =
  | { ok: true; userId: string; token: string; signedInAt: number }
  | { ok: false; reason: "unknown" | "expired" | "revoked" | "reused" };

export function tokenStore({ db, clock }: { db: Db; clock: Clock }) {
  const now = () => new Date(clock.now());

  /**
   * A refresh token for a live account; null when the account is deleted. The statement waits for
   * a deletion under way (the row lock it shares) and then stores nothing: a sign-in or a refresh
   * that checked the account before its deletion committed leaves no session behind it.
   */
  async function createRefresh(userId: string, familyId: string): Promise<string | null> {
    const token = newOpaqueToken("rt_");
    const at = clock.now();
    const stored = await db.$executeRawUnsafe(
      `INSERT INTO "refresh_tokens" ("id", "family_id", "user_id", "token_hash", "created_at", "expires_at")
       SELECT $1::uuid, $2::uuid, "id", $4, $5, $6 FROM "users" WHERE "id" = $3::uuid AND "deleted_at" IS NULL FOR SHARE`,
      uuidv7(clock),
      familyId,
      userId,
      digest(token),
      new Date(at),
      new Date(at + REFRESH_TOKEN_TTL_MS),
    );
    return stored === 1 ? token : null;
  }

  const revokeFamily = (familyId: string) =>
    db.refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: now() } });

  return {
    /** A refresh token that starts a new family (a sign-in); null when the account is deleted. */
    startFamily: (userId: string) => createRefresh(userId, uuidv7(clock)),

    /**
     * Exchanges a refresh token for its successor. The first presenter of an unused token wins
     * (a conditional update); a token that was already rotated revokes its whole family.
     */
    async rotate(token: string): Promise<RefreshOutcome> {
      const tokenHash = digest(token);
      const at = now();
      const claimed = await db.refreshToken.updateMany({
        where: { tokenHash, rotatedAt: null, revokedAt: null, expiresAt: { gt: at } },
        data: { rotatedAt: at },
      });
      const row = await db.refreshToken.findUnique({ where: { tokenHash }, select: { familyId: true, userId: true, rotatedAt: true, revokedAt: true } });
      if (!row) return { ok: false, reason: "unknown" };
      if (claimed.count !== 1) {
        if (row.revokedAt) return { ok: false, reason: "revoked" };
        if (row.rotatedAt) {
          await revokeFamily(row.familyId);
          return { ok: false, reason: "reused" };
        }
        return { ok: false, reason: "expired" };
      }
      const successor = await createRefresh(row.userId, row.familyId);
      // The account was deleted since the token was claimed (its tokens with it).
      if (successor === null) return { ok: false, reason: "unknown" };
      // A reuse revoking the family concurrently either saw the successor or is seen here.
      const revoked = await db.refreshToken.count({ where: { familyId: row.familyId, revokedAt: { not: null } } });
      if (revoked > 0) {
        await revokeFamily(row.familyId);
        return { ok: false, reason: "revoked" };
      }
      // The family's first token was issued by the sign-in that began the session.
      const first = await db.refreshToken.findFirst({ where: { familyId: row.familyId }, orderBy: { createdAt: "asc" }, select: { createdAt: true } });
      return { ok: true, userId: row.userId, token: successor, signedInAt: (first?.createdAt ?? at).getTime() };
    },

    /** Revokes the family of `token` (logout); unknown tokens are ignored. */
    async revokeFamilyOf(token: string): Promise<void> {
      const row = await db.refreshToken.findUnique({ where: { tokenHash: digest(token) }, select: { familyId: true } });
      if (row) await revokeFamily(row.familyId);
    },

    /** Revokes every refresh token of an account (password reset). */
    revokeAllForUser: (userId: string) => db.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now() } }),

    /** Issues a mail token; earlier unused tokens of the same purpose stop working. */
    async issueMailToken(userId: string, purpose: MailPurpose): Promise<string> {
      const token = newOpaqueToken(MAIL_PREFIX[purpose]);
      const at = clock.now();
      await db.$transaction([
        db.mailToken.updateMany({ where: { userId, purpose, usedAt: null }, data: { usedAt: new Date(at) } }),
        db.mailToken.create({
          data: { id: uuidv7(clock), userId, purpose, tokenHash: digest(token), createdAt: new Date(at), expiresAt: new Date(at + MAIL_TTL[purpose]) },
        }),
      ]);
      return token;
    },

    /**
     * The same work as issueMailToken for an account that does not exist (a password-reset request
     * for an unknown e-mail): a token is generated and hashed and the same kind of write is made,
     * matching no row.
     */
    async issueMailTokenForNobody(purpose: MailPurpose): Promise<void> {
      digest(newOpaqueToken(MAIL_PREFIX[purpose]));
      await db.$transaction([
        db.mailToken.updateMany({ where: { userId: uuidv7(clock), purpose, usedAt: null }, data: { usedAt: now() } }),
      ]);
    },

    /** Uses up a mail token; returns its account, or null when it is unknown, expired or used. */
    async consumeMailToken(token: string, purpose: MailPurpose): Promise<string | null> {
      if (!token.startsWith(MAIL_PREFIX[purpose])) return null;
      const tokenHash = digest(token);
      const at = now();
      const claimed = await db.mailToken.updateMany({
        where: { tokenHash, purpose, usedAt: null, expiresAt: { gt: at } },
        data: { usedAt: at },
      });
      if (claimed.count !== 1) return null;
      const row = await db.mailToken.findUnique({ where: { tokenHash }, select: { userId: true } });
      return row?.userId ?? null;
    },

    async createGuest(guest: { displayName: string | null; email: string | null; language: string }, ttlSeconds: number) {
      const at = clock.now();
      return db.guest.create({
        data: { id: uuidv7(clock), ...guest, createdAt: new Date(at), expiresAt: new Date(at + ttlSeconds * 1000) },
      });
    },

    /** Whether the guest is still there and unexpired (one primary-key read). */
    async guestActive(id: string): Promise<boolean> {
      const guest = await db.guest.findUnique({ where: { id }, select: { expiresAt: true } });
      return guest !== null && guest.expiresAt.getTime() > clock.now();
    },
  };
}

export type TokenStore = ReturnType<typeof tokenStore>;
