// Hosts get paid through a connected account at the provider (Stripe Connect Express): created on
// the first onboarding request, onboarded through an Account Link, watched through account.updated
// webhooks and refreshed from the provider while it is not yet enabled. With a provider that needs
// no onboarding (simulated) every host can take payments.
import type { Db } from "../db/client.ts";
import type { ConnectAccount } from "../db/generated/client.ts";
import type { AccountState, PaymentProvider } from "./ports/payments.ts";
import type { Clock } from "./ports/clock.ts";
import { AppError } from "./errors.ts";

export type ConnectStatus = "not_started" | "pending" | "enabled" | "restricted";

export function statusOf(a: Pick<ConnectAccount, "chargesEnabled" | "detailsSubmitted"> | null): ConnectStatus {
  if (!a) return "not_started";
  if (a.chargesEnabled) return "enabled";
  return a.detailsSubmitted ? "restricted" : "pending";
}

const columns = (s: AccountState) => ({
  chargesEnabled: s.chargesEnabled,
  payoutsEnabled: s.payoutsEnabled,
  detailsSubmitted: s.detailsSubmitted,
  requirementsDue: s.requirementsDue,
  disabledReason: s.disabledReason,
});

/**
 * Stores an account's state as the provider knew it at `at`. An older state (a webhook delivered
 * late) never overwrites a newer one. False when no stored account matches.
 */
export async function applyAccountState(db: Db, state: AccountState, at: Date, now: Date): Promise<boolean> {
  const updated = await db.connectAccount.updateMany({
    where: { accountRef: state.accountRef, statusAt: { lte: at } },
    data: { ...columns(state), statusAt: at, updatedAt: now },
  });
  if (updated.count > 0) return true;
  return (await db.connectAccount.count({ where: { accountRef: state.accountRef } })) > 0;
}

/** A host's connected account as they see it: whether it can take charges and pay out, and what the provider still asks for. */
export interface AccountStatus {
  status: ConnectStatus;
  chargesEnabled: boolean;
  payoutsEnabled: boolean;
  requirementsDue: string[];
}

export interface ConnectDeps {
  db: Db;
  clock: Clock;
  provider: PaymentProvider;
  /** Where the provider's onboarding sends the host back: when done, and when its link has expired. */
  onboardingUrls: { returnUrl: string; refreshUrl: string };
}

export function connect({ db, clock, provider, onboardingUrls }: ConnectDeps) {
  const now = () => new Date(clock.now());

  async function ensureAccount(userId: string): Promise<ConnectAccount> {
    const existing = await db.connectAccount.findUnique({ where: { userId } });
    if (existing) return existing;
    // One account per host even when two requests race: the provider answers both with the same
    // account (same idempotency key, parameters that never change), and one row wins.
    const state = await provider.createAccount({ userId, idempotencyKey: `connect-account:${userId}` });
    const t = now();
    await db.connectAccount.createMany({
      data: [{ userId, accountRef: state.accountRef, ...columns(state), statusAt: t, createdAt: t, updatedAt: t }],
      skipDuplicates: true,
    });
    return db.connectAccount.findUniqueOrThrow({ where: { userId } });
  }

  /** The stored account, refreshed from the provider while it cannot take charges yet. */
  async function current(userId: string): Promise<ConnectAccount | null> {
    const stored = await db.connectAccount.findUnique({ where: { userId } });
    if (!stored || stored.chargesEnabled || !provider.requiresOnboarding) return stored;
    await applyAccountState(db, await provider.account(stored.accountRef), now(), now());
    return db.connectAccount.findUnique({ where: { userId } });
  }

  return {
    async status(userId: string): Promise<AccountStatus> {
      const a = provider.requiresOnboarding ? await current(userId) : { chargesEnabled: true, payoutsEnabled: true, detailsSubmitted: true, requirementsDue: [] };
      return {
        status: statusOf(a),
        chargesEnabled: a?.chargesEnabled ?? false,
        payoutsEnabled: a?.payoutsEnabled ?? false,
        requirementsDue: a?.requirementsDue ?? [],
      };
    },

    /** The provider's onboarding page for the host's account (created on first use). */
    async onboardingLink(userId: string): Promise<string> {
      const a = await ensureAccount(userId);
      return provider.onboardingLink(a.accountRef, onboardingUrls);
    },

    /** The provider's dashboard for an onboarded host. */
    async dashboardLink(userId: string): Promise<string> {
      const a = await current(userId);
      if (provider.requiresOnboarding && !a?.detailsSubmitted) throw new AppError("stripe_not_connected");
      return provider.dashboardLink(a?.accountRef ?? "");
    },

    /** Throws stripe_not_connected unless the host can take charges now. */
    async requireCharges(userId: string) {
      if (!provider.requiresOnboarding) return;
      const a = await current(userId);
      if (!a?.chargesEnabled) throw new AppError("stripe_not_connected");
    },

    /** Whether the host can take charges now, as last known (webhooks keep it current). */
    async canCharge(userId: string): Promise<boolean> {
      if (!provider.requiresOnboarding) return true;
      const a = await db.connectAccount.findUnique({ where: { userId }, select: { chargesEnabled: true } });
      return a?.chargesEnabled ?? false;
    },

    /**
     * The account that receives a host's earnings (null for a provider without onboarding); a host
     * whose account cannot take charges now makes their links unavailable (payments_disabled).
     */
    async payeeOf(userId: string): Promise<string | null> {
      if (!provider.requiresOnboarding) return null;
      const a = await db.connectAccount.findUnique({ where: { userId }, select: { accountRef: true, chargesEnabled: true } });
      if (!a?.chargesEnabled) throw new AppError("link_unavailable", { reason: "payments_disabled" });
      return a.accountRef;
    },

    accountOf: (userId: string) => db.connectAccount.findUnique({ where: { userId } }),
  };
}

export type Connect = ReturnType<typeof connect>;
