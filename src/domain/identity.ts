// The v1 identity flows: registration, sign-in, refresh rotation, sign-out, guests, e-mail
// verification and password reset. Access tokens are signed by the HTTP layer (the auth plugin);
// everything else about who the caller is lives here.
import type { MailMessage } from "./ports/mail.ts";
import type { Accounts, User } from "./accounts.ts";
import { AppError, unknownCaller } from "./errors.ts";
import type { TokenStore } from "./tokens.ts";

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

export function verificationMail(user: { email: string; displayName: string }, token: string): MailMessage {
  return {
    to: user.email,
    subject: "Confirm your e-mail address",
    text: [
      `Hello ${user.displayName},`,
      "",
      "Confirm the e-mail address of your Vidivo account with this code",
      "(valid for 48 hours):",
      "",
      `    ${token}`,
      "",
      "If you did not create an account, you can ignore this message.",
      "",
    ].join("\n"),
  };
}

export function passwordResetMail(user: { email: string; displayName: string }, token: string): MailMessage {
  return {
    to: user.email,
    subject: "Reset your password",
    text: [
      `Hello ${user.displayName},`,
      "",
      "Someone asked to reset the password of your Vidivo account.",
      "To choose a new one, use this code (valid for 1 hour, once):",
      "",
      `    ${token}`,
      "",
      "If it was not you, ignore this message: your password stays as it is.",
      "",
    ].join("\n"),
  };
}

export function identityService({ accounts, tokens, sendMail, later, guestTokenTtlSeconds }: IdentityDeps) {
  async function sendVerification(user: User) {
    if (!user.email) return;
    const token = await tokens.issueMailToken(user.id, "verify_email");
    sendMail(verificationMail({ email: user.email, displayName: user.displayName }, token));
  }

  return {
    async register(input: { email: string; password: string; displayName?: string | undefined }) {
      const email = input.email.trim();
      const displayName = input.displayName ?? email.slice(0, email.indexOf("@")).slice(0, 80);
      const user = await accounts.createWithEmail({ email, password: input.password, displayName });
      const refreshToken = await tokens.startFamily(user.id);
      await sendVerification(user);
      return { user, refreshToken };
    },

    /** Same answer and the same password-hashing work for an unknown e-mail and a wrong password. */
    async login(input: { email: string; password: string }) {
      const user = await accounts.checkPassword({ emailKey: input.email.trim().toLowerCase() }, input.password);
      if (!user) throw new AppError("invalid_credentials");
      return { user, refreshToken: await tokens.startFamily(user.id) };
    },

    async refresh(refreshToken: string) {
      const outcome = await tokens.rotate(refreshToken);
      if (!outcome.ok) throw new AppError("unauthorized");
      const user = await accounts.byId(outcome.userId);
      if (!user) throw new AppError("unauthorized");
      return { user, refreshToken: outcome.token };
    },

    logout: (refreshToken: string) => tokens.revokeFamilyOf(refreshToken),

    createGuest: (displayName: string | null) => tokens.createGuest(displayName, guestTokenTtlSeconds),
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
        sendMail(passwordResetMail({ email: user.email, displayName: user.displayName }, token));
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
