// How domain records look on the v1 surface (docs/api.md): ids as ULIDs, instants as ISO 8601 UTC,
// money as two-decimal strings. Each view returns its schema's generated type, so a view that
// drifts from openapi.yaml does not compile.
import type { components } from "../../contract/generated/api.d.ts";
import type { User } from "../../domain/accounts.ts";
import type { CallDetails, CallSession } from "../../domain/calls.ts";
import { statusOf, type AccountStatus } from "../../domain/connect.ts";
import { toUlid } from "../../domain/ids.ts";
import { languageOr } from "../../domain/language.ts";
import type { CallLink, UnavailableReason } from "../../domain/links.ts";
import type { MediaService } from "../../domain/media.ts";
import { formatCents } from "../../domain/money.ts";
import type { Notification, NotificationData, NotificationType } from "../../domain/notifications.ts";
import type { Page } from "../../domain/pagination.ts";
import type { AccountData } from "../../domain/personal-data.ts";
import type { Balance, HistoryEntry, SetupIntent } from "../../domain/payments.ts";
import type { AuditLog, Guest, Payout, Refund } from "../../db/generated/client.ts";
import type { AuditAction, AuditActor, AuditData, AuditTarget } from "../../domain/audit.ts";

type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

export function pageView<T, V>(page: Page<T>, view: (item: T) => V): { data: V[]; pagination: Schema<"Pagination"> } {
  return { data: page.data.map(view), pagination: { cursor: page.cursor, has_more: page.hasMore, limit: page.limit } };
}

// Accounts

export const userView = (u: User): Schema<"User"> => ({
  id: toUlid(u.id),
  email: u.email,
  display_name: u.displayName,
  role: u.role,
  email_verified: u.emailVerifiedAt !== null,
  created_at: u.createdAt.toISOString(),
});

export const profileView =
  (media: MediaService) =>
  (u: User): Schema<"Profile"> => ({
    id: toUlid(u.id),
    email: u.email,
    username: u.username,
    display_name: u.displayName,
    bio: u.bio,
    avatar_url: media.urlOrNull(u.imageKey),
    role: u.role,
    email_verified: u.emailVerifiedAt !== null,
    language: languageOr(u.language),
    notification_preferences: { email_incoming_call: u.emailIncomingCall, email_receipts: u.emailReceipts },
    created_at: u.createdAt.toISOString(),
  });

export const sessionView = (user: User, access: { token: string; expiresIn: number }, refreshToken: string): Schema<"Session"> => ({
  user: userView(user),
  access_token: access.token,
  refresh_token: refreshToken,
  expires_in: access.expiresIn,
});

export const guestSessionView = (guest: Guest, token: { token: string; expiresIn: number }): Schema<"GuestSession"> => ({
  guest_token: token.token,
  expires_in: token.expiresIn,
  guest: { id: toUlid(guest.id), display_name: guest.displayName, email: guest.email },
});

// Links: `publicUrl` is where a link's short code is served (`<publicUrl>/c/<code>`).

const linkUrl = (publicUrl: string, l: CallLink) => `${publicUrl}/c/${l.shortCode}`;

export const linkView =
  (publicUrl: string) =>
  (l: CallLink): Schema<"CallLink"> => ({
    id: toUlid(l.id),
    short_code: l.shortCode,
    url: linkUrl(publicUrl, l),
    host_id: toUlid(l.hostId),
    rate_per_minute: formatCents(l.rateCents),
    window_size_minutes: l.windowMinutes,
    expires_at: iso(l.expiresAt),
    max_uses: l.maxUses,
    use_count: l.useCount,
    label: l.label,
    scheduled_start: iso(l.scheduledStart),
    scheduled_end: iso(l.scheduledEnd),
    is_active: l.isActive,
    created_at: l.createdAt.toISOString(),
  });

/** A link as a guest sees it before calling: the host, the terms, and whether it can be called now. */
export const linkResolutionView =
  (publicUrl: string, media: MediaService) =>
  (l: CallLink, host: User, reason: UnavailableReason | null): Schema<"LinkResolution"> => ({
    short_code: l.shortCode,
    url: linkUrl(publicUrl, l),
    host: { id: toUlid(host.id), display_name: host.displayName, avatar_url: media.urlOrNull(host.imageKey) },
    rate_per_minute: formatCents(l.rateCents),
    window_size_minutes: l.windowMinutes,
    label: l.label,
    scheduled_start: iso(l.scheduledStart),
    scheduled_end: iso(l.scheduledEnd),
    available: reason === null,
    unavailable_reason: reason,
  });

// Calls

export function callView(c: CallDetails): Schema<"Call"> {
  const duration = c.startedAt && c.endedAt ? Math.max(0, Math.floor((c.endedAt.getTime() - c.startedAt.getTime()) / 1000)) : null;
  return {
    id: toUlid(c.id),
    status: c.status,
    short_code: c.link.shortCode,
    link_id: toUlid(c.linkId),
    host: { id: toUlid(c.hostId), display_name: c.hostName },
    guest: { id: toUlid(c.guestId), display_name: c.guestName },
    rate_per_minute: formatCents(c.rateCents),
    window_size_minutes: c.windowMinutes,
    created_at: c.createdAt.toISOString(),
    started_at: iso(c.startedAt),
    ended_at: iso(c.endedAt),
    duration_seconds: duration,
    amount_charged: formatCents(c.amountCharged),
    end_reason: c.endReason as Schema<"Call">["end_reason"],
    notified_at: iso(c.notifiedAt),
  };
}

export const callSessionView = (s: CallSession): Schema<"CallSession"> => ({
  call: callView(s.call),
  signaling_token: s.signalingToken,
  turn_credentials: s.turn,
});

// Payments

export const setupIntentView = (s: SetupIntent): Schema<"SetupIntent"> => ({
  client_secret: s.clientSecret,
  publishable_key: s.publishableKey,
  provider: s.provider,
  test_payment_methods: s.testPaymentMethods,
});

export function paymentEntryView(e: HistoryEntry): Schema<"PaymentEntry"> {
  const common = { id: toUlid(e.id), type: e.type, currency: "usd" as const, created_at: e.createdAt.toISOString() };
  switch (e.type) {
    case "charge":
    case "earning": {
      const { capture: c } = e;
      const earning = e.type === "earning";
      return {
        ...common,
        payment_id: toUlid(c.id),
        call_id: toUlid(c.callId),
        window: c.windowIndex,
        amount: formatCents(c.grossCents),
        fee: earning ? formatCents(c.feeCents) : null,
        net: earning ? formatCents(c.netCents) : null,
        status: null,
      };
    }
    case "refund": {
      const { refund: r } = e;
      return {
        ...common,
        payment_id: toUlid(r.captureId),
        call_id: toUlid(r.callId),
        window: r.capture.windowIndex,
        amount: formatCents(r.amountCents),
        fee: e.toHost ? formatCents(r.feeCents) : null,
        net: e.toHost ? formatCents(r.netCents) : null,
        status: r.status,
      };
    }
    case "dispute": {
      const { dispute: d } = e;
      return {
        ...common,
        payment_id: toUlid(d.captureId),
        call_id: toUlid(d.capture.callId),
        window: d.capture.windowIndex,
        amount: formatCents(d.amountCents),
        fee: null,
        net: null,
        status: d.status,
      };
    }
  }
}

export const refundView = (r: Refund): Schema<"Refund"> => ({
  id: toUlid(r.id),
  payment_id: toUlid(r.captureId),
  call_id: toUlid(r.callId),
  amount: formatCents(r.amountCents),
  fee_refunded: formatCents(r.feeCents),
  transfer_reversed: formatCents(r.netCents),
  reason: r.reason as Schema<"Refund">["reason"],
  status: r.status as Schema<"RefundStatus">,
  created_at: r.createdAt.toISOString(),
});

/** A host's balance: one entry in US dollars, none before they have earned anything. */
export const earningsView = (b: Balance | null): Schema<"Earnings"> => ({
  earnings: b
    ? [
        {
          currency: "usd",
          gross: formatCents(b.gross),
          fee: formatCents(b.fee),
          net: formatCents(b.net),
          refunded: formatCents(b.refunded),
          disputed: formatCents(b.disputed),
          pending: formatCents(b.pending),
          available: formatCents(b.available),
        },
      ]
    : [],
});

export const payoutView = (p: Payout): Schema<"Payout"> => ({
  id: toUlid(p.id),
  amount: formatCents(p.amountCents),
  currency: p.currency,
  status: p.status as Schema<"Payout">["status"],
  arrival_at: iso(p.arrivalAt),
  failure_code: p.failureCode,
  created_at: p.createdAt.toISOString(),
});

export const connectStatusView = (a: AccountStatus): Schema<"ConnectStatus"> => ({
  status: a.status,
  charges_enabled: a.chargesEnabled,
  payouts_enabled: a.payoutsEnabled,
  requirements_due: a.requirementsDue,
});

// Notifications

/** The documented `data` of each notification type. */
type WireData<T extends string> = Extract<Schema<"Notification">, { type: T }>["data"];
/**
 * Checked by the compiler: every type the domain produces is documented, with the same `data` both
 * ways (a stored notification's data is sent as it was stored).
 */
type Agrees<T extends NotificationType> = [NotificationData[T]] extends [WireData<T>] ? ([WireData<T>] extends [NotificationData[T]] ? true : false) : false;
const _documented: false extends { [T in NotificationType]: Agrees<T> }[NotificationType] ? never : true = true;

export const notificationView = (n: Notification): Schema<"Notification"> =>
  ({ id: toUlid(n.id), type: n.type, data: n.data, created_at: n.createdAt.toISOString(), read_at: iso(n.readAt) }) as Schema<"Notification">;

// Audit log

/** An audit entry: account, payment and refund ids as ULIDs (a key's kid as it is). */
export function auditEntryView(e: AuditLog): Schema<"AuditEntry"> {
  const action = e.action as AuditAction;
  let data = e.data as unknown as AuditData[AuditAction];
  if (action === "payment.refunded") {
    const refund = data as AuditData["payment.refunded"];
    data = { ...refund, refund_id: toUlid(refund.refund_id) };
  }
  const targetType = e.targetType as AuditTarget["type"];
  return {
    id: toUlid(e.id),
    action,
    actor: { kind: e.actorKind as AuditActor["kind"], id: e.actorId === null ? null : toUlid(e.actorId) },
    target: { type: targetType, id: targetType === "signing_key" ? e.targetId : toUlid(e.targetId) },
    data,
    request_id: e.requestId,
    created_at: e.createdAt.toISOString(),
  };
}

// Account export

type ExportParts = Schema<"AccountExport">;

/** Everything stored about an account (GET /v1/users/me/export): never a password hash, a token or a token's digest. */
export const accountExportView =
  (publicUrl: string, media: MediaService) =>
  (d: AccountData, exportedAt: Date): ExportParts => ({
    exported_at: exportedAt.toISOString(),
    profile: profileView(media)(d.user),
    sessions: d.sessions.map((r) => ({
      id: toUlid(r.id),
      session_id: toUlid(r.familyId),
      created_at: r.createdAt.toISOString(),
      expires_at: r.expiresAt.toISOString(),
      rotated_at: iso(r.rotatedAt),
      revoked_at: iso(r.revokedAt),
    })),
    mail_tokens: d.mailTokens.map((m) => ({ purpose: m.purpose, created_at: m.createdAt.toISOString(), expires_at: m.expiresAt.toISOString(), used_at: iso(m.usedAt) })),
    images: d.uploads.map((u) => ({ url: media.url(u.key), created_at: u.createdAt.toISOString() })),
    links: d.links.map(linkView(publicUrl)),
    calls: { as_host: d.callsAsHost.map(callView), as_guest: d.callsAsGuest.map(callView) },
    billing_windows: d.windows.map((w) => ({
      call_id: toUlid(w.callId),
      window: w.index,
      amount: formatCents(w.amountCents),
      hold_status: w.holdStatus as ExportParts["billing_windows"][number]["hold_status"],
      capture_amount: w.captureCents === null ? null : formatCents(w.captureCents),
      created_at: w.createdAt.toISOString(),
      updated_at: w.updatedAt.toISOString(),
    })),
    payments: d.payments.map(paymentEntryView),
    payouts: d.payouts.map(payoutView),
    notifications: d.notifications.map(notificationView),
    guest_sessions: d.guests.map((g) => ({
      id: toUlid(g.id),
      display_name: g.displayName,
      email: g.email,
      language: languageOr(g.language),
      created_at: g.createdAt.toISOString(),
      expires_at: g.expiresAt.toISOString(),
    })),
    payment_customers: d.customers.map((c) => ({ customer_ref: c.customerRef, created_at: c.createdAt.toISOString() })),
    connect_account: d.connectAccount && {
      account_ref: d.connectAccount.accountRef,
      status: statusOf(d.connectAccount),
      charges_enabled: d.connectAccount.chargesEnabled,
      payouts_enabled: d.connectAccount.payoutsEnabled,
      requirements_due: d.connectAccount.requirementsDue,
      created_at: d.connectAccount.createdAt.toISOString(),
    },
    audit_events: d.audit.map(auditEntryView),
  });
