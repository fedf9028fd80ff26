// The v1 identity flows: registration, sign-in, refresh rotation, sign-out, guests, e-mail
// verification and password reset. Access tokens are signed by the HTTP layer (the auth plugin);
// everything else about who the caller is lives here.
import type { MailMessage } from "./ports/mail.ts";
import { languageOr, type Language } from "./language.ts";
import { renderMail } from "./mail/templates.ts";
import type { Accounts, User } from "./accounts.ts";
import { AppError, unknownCaller } from "./errors.ts";
import { PASSWORD_RESET_TTL_MS, VERIFY_EMAIL_TTL_MS, type TokenStore } from "./tokens.ts";

export interface IdentityDeps {
  accounts: Accounts;
  tokens: TokenStore;
  /** Queues a mail (delivery never delays or fails the request). */
  sendMail(message: MailMessage): void;
  /** Runs work after the answer has been sent (tracked; failures are logged). */
  later(task: () => Promise<void>): void;
  guestTokenTtlSeconds: number;
}

const INVALID_MAIL_TOKEN = "is invalid, expired or already used";

export function identityService({ accounts, tokens, sendMail, later, guestTokenTtlSeconds }: IdentityDeps) {
  async function sendVerification(user: User) {
    if (!user.email) return;
    const token = await tokens.issueMailToken(user.id, "verify_email");
    sendMail(renderMail("verify_email", languageOr(user.language), user.email, { name: user.displayName, token, validForMs: VERIFY_EMAIL_TTL_MS }));
  }

  return {
    /** `language`: the request's, kept as the account's (its mails are written in it). */
    async register(input: { email: string; password: string; displayName?: string | undefined; language: Language }) {
      const email = input.email.trim();
      const displayName = input.displayName ?? email.slice(0, email.indexOf("@")).slice(0, 80);
      const user = await accounts.createWithEmail({ email, password: input.password, displayName, language: input.language });
      const refreshToken = await tokens.startFamily(user.id);
      // Deleted by an admin within the moment between its creation and its first session: not a
      // case a client can meet or act on (an unexpected error).
      if (refreshToken === null) throw new Error("account deleted before its first session was stored");
      await sendVerification(user);
      return { user, refreshToken };
    },

    /** Same answer and the same password-hashing work for an unknown e-mail and a wrong password. */
    async login(input: { email: string; password: string }) {
      const user = await accounts.checkPassword({ emailKey: input.email.trim().toLowerCase() }, input.password);
      if (!user) throw new AppError("invalid_credentials");
      const refreshToken = await tokens.startFamily(user.id);
      // The account was deleted after its password was checked: as if it had been before.
      if (refreshToken === null) throw new AppError("invalid_credentials");
      return { user, refreshToken };
    },

    /** `signedInAt`: when the session began (its access tokens carry it as `auth_time`). */
    async refresh(refreshToken: string) {
      const outcome = await tokens.rotate(refreshToken);
      if (!outcome.ok) throw new AppError("unauthorized");
      const user = await accounts.byId(outcome.userId);
      if (!user) throw new AppError("unauthorized");
      return { user, refreshToken: outcome.token, signedInAt: outcome.signedInAt };
    },

    logout: (refreshToken: string) => tokens.revokeFamilyOf(refreshToken),

    /** `email`: where the guest's receipts go, if given; `language`: the request's. */
    createGuest: (guest: { displayName: string | null; email: string | null; language: Language }) => tokens.createGuest(guest, guestTokenTtlSeconds),
    guestActive: (id: string) => tokens.guestActive(id),

    async verifyEmail(token: string): Promise<User> {
      const userId = await tokens.consumeMailToken(token, "verify_email");
      if (!userId) throw new AppError("validation_error", { token: INVALID_MAIL_TOKEN });
      return accounts.markEmailVerified(userId);
    },

    async resendVerification(userId: string) {
      const user = await accounts.byId(userId);
      if (!user) throw unknownCaller(); // deleted since the request's caller was resolved
      if (!user.email) throw new AppError("conflict", { email: "the account has no e-mail address" });
      if (user.emailVerifiedAt) throw new AppError("conflict", { email: "is already verified" });
      await sendVerification(user);
    },

    /**
     * Answers the same way, after the same work, whether or not the e-mail belongs to an account:
     * the request only schedules the lookup, and the token and mail follow after the answer.
     */
    requestPasswordReset(email: string): void {
      later(async () => {
        const user = await accounts.byEmail(email);
        if (!user || !user.email) {
          await tokens.issueMailTokenForNobody("password_reset");
          return;
        }
        const token = await tokens.issueMailToken(user.id, "password_reset");
        sendMail(renderMail("password_reset", languageOr(user.language), user.email, { name: user.displayName, token, validForMs: PASSWORD_RESET_TTL_MS }));
      });
    },

    /** Sets the new password and signs every session of the account out. */
    async confirmPasswordReset(token: string, password: string) {
      const userId = await tokens.consumeMailToken(token, "password_reset");
      if (!userId) throw new AppError("validation_error", { token: INVALID_MAIL_TOKEN });
      await accounts.setPassword(userId, password);
      await tokens.revokeAllForUser(userId);
    },
  };
}

export type IdentityService = ReturnType<typeof identityService>;
