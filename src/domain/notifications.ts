// Notifications (docs/notifications.md): what a user should know, stored per user, newest first,
// read or unread. Each one is published on the user's pub/sub channel the moment it is stored, so
// the live channel (GET /v1/events) delivers it on whichever instance the user is connected to.
import type { Db } from "../db/client.ts";
import type { Call, CallLink, Notification, Payout, Refund } from "../db/generated/client.ts";
import { AppError } from "./errors.ts";
import { toUlid, uuidv7 } from "./ids.ts";
import { formatCents } from "./money.ts";
import { afterCursor, newestFirst, toPage, type Page } from "./pagination.ts";
import type { Clock } from "./ports/clock.ts";
import type { MailMessage } from "./ports/mail.ts";
import type { PubSub } from "./ports/pubsub.ts";
import { NO_SHOW_MS, type EndReason } from "./billing.ts";
import { languageOr, type Language } from "./language.ts";
import type { RefundReason, RefundStatus } from "./payments.ts";
import { renderMail, type MailData, type MailKind } from "./mail/templates.ts";

export type { Notification };

/** The types produced and the shape of their `data` (openapi.yaml, Notification). Amounts are decimal USD strings. */
export interface NotificationData {
  /** To the host: a guest is waiting on one of their links. */
  call_incoming: CallAbout & { guest_display_name: string; rate_per_minute: string; window_size_minutes: number };
  /** To the host: they never joined, the call was cancelled (the no-show). */
  call_missed: CallAbout & { guest_display_name: string };
  /** To a signed-in guest: the host never joined; nothing was charged. */
  call_cancelled: CallAbout & { host_display_name: string; end_reason: EndReason };
  /** To each signed-in participant who knew of the call, once it is settled: how it ended and what it cost. */
  call_ended: CallAbout & { end_reason: EndReason; started_at: string | null; ended_at: string | null; billed_minutes: number; amount_charged: string };
  /** To a signed-in guest: the receipt of a paid call. */
  payment_captured: CallAbout & { host_display_name: string; billed_minutes: number; windows: number; rate_per_minute: string; amount: string };
  /** To the host: what a paid call earned them. */
  earning_recorded: CallAbout & { guest_display_name: string; billed_minutes: number; gross_amount: string; fee_amount: string; net_amount: string };
  /** To a signed-in guest: the call ended early because a hold on the card failed. */
  payment_failed: CallAbout & { end_reason: EndReason; amount_charged: string };
  /** To a signed-in guest: a payment of theirs was refunded. */
  refund_issued: { call_id: string; refund_id: string; amount: string; reason: RefundReason; status: RefundStatus };
  /** To the host: a payout reached their bank, or failed. */
  payout_paid: PayoutAbout;
  payout_failed: PayoutAbout;
}
type PayoutAbout = { payout_id: string; amount: string; currency: string; arrival_at: string | null; failure_code: string | null };
export type NotificationType = keyof NotificationData;
/**
 * Every type this version produces, and the only ones it lists, counts and streams: a row of
 * another type (stored by a newer version during a rolling deploy) waits for an instance that
 * knows its shape.
 */
export const NOTIFICATION_TYPES = [
  "call_incoming",
  "call_missed",
  "call_cancelled",
  "call_ended",
  "payment_captured",
  "earning_recorded",
  "payment_failed",
  "refund_issued",
  "payout_paid",
  "payout_failed",
] as const satisfies readonly NotificationType[];
const _everyType: Record<Exclude<NotificationType, (typeof NOTIFICATION_TYPES)[number]>, never> = {};
const KNOWN = { type: { in: [...NOTIFICATION_TYPES] } };
export const isKnownType = (type: string) => (NOTIFICATION_TYPES as readonly string[]).includes(type);
type CallAbout = { call_id: string; link_id: string; short_code: string };

/**
 * What a user's channel carries: a stored notification, the end of a stream elsewhere (one stream
 * per token), or the end of every stream of the user (the account was deleted).
 */
export type ChannelMessage =
  | { t: "notification"; notification: Notification }
  | { t: "replaced"; tokenId: string; stream: string }
  | { t: "closed" };

export const userChannel = (userId: string) => `user:${userId}`;

export interface Notifications {
  /**
   * Stores a notification for the user and publishes it on their channel. With a `key`, it is
   * stored once per user and key: producing it again (a retried task) stores and sends nothing
   * and resolves null.
   */
  notify<T extends NotificationType>(userId: string, type: T, data: NotificationData[T], key?: string): Promise<Notification | null>;
  list(userId: string, q: { unread?: boolean | undefined; limit: number; cursor?: string | undefined }): Promise<Page<Notification>>;
  unreadCount(userId: string): Promise<number>;
  /** Marks one read (the first read_at stays); another user's or an unknown id is not_found. */
  markRead(userId: string, id: string): Promise<void>;
  markAllRead(userId: string): Promise<void>;
  /** The user's notifications stored after `afterId` (a notification id), oldest first: what a resumed stream missed. */
  since(userId: string, afterId: string): Promise<Notification[]>;
}

/**
 * What the participants of a call are told, in notifications and e-mails, as it goes. Each notice
 * is keyed by the call and its type, so running a step again (the engine retries a task that
 * failed) tells no one twice; an e-mail is queued right after the notice it goes with is first
 * stored, so it is not sent twice either.
 */
export interface CallNotices {
  /** To the host, at initiate: a guest is waiting (the live channel delivers it at once). */
  incoming(call: Call, link: CallLink): Promise<void>;
  /**
   * A few seconds later, if no live stream of the host received it: the incoming-call e-mail
   * (when the host wants it), and the call is marked as rung.
   */
  ringByMail(call: Call): Promise<void>;
  /** Once the call is settled: missed and cancelled (no-show), or ended, receipt and earnings. */
  ended(call: Call): Promise<void>;
}

/** A participant as the notices need them; `userId` null for a guest without an account. */
interface Person {
  userId: string | null;
  name: string;
  email: string | null;
  language: Language;
  wantsIncomingMail: boolean;
  wantsReceipts: boolean;
}

export function callNotices({ db, clock, n, sendMail }: { db: Db; clock: Clock; n: Pick<Notifications, "notify">; sendMail(m: MailMessage): void }): CallNotices {
  const about = (call: Call, link: CallLink): CallAbout => ({ call_id: toUlid(call.id), link_id: toUlid(link.id), short_code: link.shortCode });
  const key = (call: Call, type: NotificationType) => `call:${call.id}:${type}`;
  const linkOf = (call: Call) => db.callLink.findUniqueOrThrow({ where: { id: call.linkId } });

  // Mail goes to confirmed addresses only (an account's), or to the address a guest gave for its receipts.
  async function host(call: Call): Promise<Person | null> {
    const u = await db.user.findUnique({ where: { id: call.hostId } });
    return u && { userId: u.id, name: u.displayName, email: u.emailVerifiedAt ? u.email : null, language: languageOr(u.language), wantsIncomingMail: u.emailIncomingCall, wantsReceipts: u.emailReceipts };
  }
  async function guest(call: Call): Promise<Person | null> {
    if (call.guestKind === "user") {
      const u = await db.user.findUnique({ where: { id: call.guestId } });
      return u && { userId: u.id, name: call.guestName, email: u.emailVerifiedAt ? u.email : null, language: languageOr(u.language), wantsIncomingMail: false, wantsReceipts: u.emailReceipts };
    }
    const g = await db.guest.findUnique({ where: { id: call.guestId } });
    return g && { userId: null, name: call.guestName, email: g.email, language: languageOr(g.language), wantsIncomingMail: false, wantsReceipts: g.email !== null };
  }
  /** The mail, when the person has an address and wants it. */
  const mail = <K extends MailKind>(to: Person | null, wanted: boolean, kind: K, data: Omit<MailData[K], "name">) => {
    if (to?.email && wanted) sendMail(renderMail(kind, to.language, to.email, { ...data, name: to.name } as MailData[K]));
  };
  /**
   * Stores a notice for `to` (when they have an account) and reports whether this is its first
   * time: an e-mail is queued right after the notice it goes with is first stored, so a step run
   * again mails no one twice. A guest without an account has no notices: their mail goes with
   * `companion`, the host's notice of the same step.
   */
  async function told<T extends NotificationType>(to: Person | null, type: T, data: NotificationData[T], call: Call): Promise<boolean> {
    if (!to?.userId) return false;
    return (await n.notify(to.userId, type, data, key(call, type))) !== null;
  }
  const firstFor = (to: Person | null, own: boolean, companion: boolean) => (to?.userId ? own : companion);
  /** Whether the host was ever told of the call (it reached waiting): a call still pending at its end never was. */
  const hostWasTold = async (call: Call) =>
    call.notifiedAt !== null || call.startedAt !== null || (await db.notification.count({ where: { userId: call.hostId, dedupeKey: key(call, "call_incoming") } })) > 0;

  async function noShow(call: Call, link: CallLink) {
    const [h, g, hostKnew] = await Promise.all([host(call), guest(call), hostWasTold(call)]);
    const hostName = h?.name ?? "";
    // The host misses only a call they were told of; the guest, who waited, is told either way
    // (a guest without an account: with the host's notice, or at once when there is none).
    const hostFirst = hostKnew && (await told(h, "call_missed", { ...about(call, link), guest_display_name: call.guestName }, call));
    if (hostFirst) mail(h, h!.wantsIncomingMail, "call_missed", { guestName: call.guestName, shortCode: link.shortCode, waitedFrom: call.createdAt, answerWithinMs: NO_SHOW_MS });
    const guestFirst = await told(g, "call_cancelled", { ...about(call, link), host_display_name: hostName, end_reason: "host_no_show" }, call);
    if (firstFor(g, guestFirst, hostKnew ? hostFirst : true)) mail(g, g?.wantsReceipts ?? false, "call_cancelled", { hostName, waitedFrom: call.createdAt });
  }

  async function settled(call: Call, link: CallLink) {
    const [h, g, sums] = await Promise.all([
      host(call),
      guest(call),
      db.capture.aggregate({ where: { callId: call.id }, _count: true, _sum: { grossCents: true, feeCents: true, netCents: true } }),
    ]);
    const gross = sums._sum.grossCents ?? 0;
    const money = { gross, fee: sums._sum.feeCents ?? 0, net: sums._sum.netCents ?? 0, windows: sums._count };
    // Every capture is whole minutes at the call's rate (docs/billing.md).
    const minutes = call.rateCents > 0 ? Math.round(gross / call.rateCents) : 0;
    const ended = {
      ...about(call, link),
      end_reason: call.endReason as EndReason,
      started_at: call.startedAt?.toISOString() ?? null,
      ended_at: call.endedAt?.toISOString() ?? null,
      billed_minutes: minutes,
      amount_charged: formatCents(gross),
    };
    const hostName = h?.name ?? "";
    // The host hears of the end of a call they were told of (a call that failed at initiate never was).
    if (await hostWasTold(call)) await told(h, "call_ended", ended, call);
    if (call.startedAt) await told(g, "call_ended", ended, call);
    if (call.startedAt && call.endReason === "billing_failed") await told(g, "payment_failed", { ...about(call, link), end_reason: call.endReason, amount_charged: formatCents(gross) }, call);
    if (gross === 0 || !call.startedAt || !call.endedAt) return;

    const hostFirst = await told(
      h,
      "earning_recorded",
      { ...about(call, link), guest_display_name: call.guestName, billed_minutes: minutes, gross_amount: formatCents(gross), fee_amount: formatCents(money.fee), net_amount: formatCents(money.net) },
      call,
    );
    if (hostFirst) {
      mail(h, h!.wantsReceipts, "earnings", {
        guestName: call.guestName,
        callId: toUlid(call.id),
        startedAt: call.startedAt,
        minutes,
        grossCents: gross,
        feeCents: money.fee,
        netCents: money.net,
      });
    }
    const guestFirst = await told(
      g,
      "payment_captured",
      { ...about(call, link), host_display_name: hostName, billed_minutes: minutes, windows: money.windows, rate_per_minute: formatCents(call.rateCents), amount: formatCents(gross) },
      call,
    );
    if (firstFor(g, guestFirst, hostFirst)) {
      mail(g, g?.wantsReceipts ?? false, "receipt", {
        hostName,
        callId: toUlid(call.id),
        startedAt: call.startedAt,
        endedAt: call.endedAt,
        minutes,
        windows: money.windows,
        rateCents: call.rateCents,
        amountCents: gross,
        card: null,
      });
    }
  }

  return {
    async incoming(call, link) {
      await n.notify(
        call.hostId,
        "call_incoming",
        { ...about(call, link), guest_display_name: call.guestName, rate_per_minute: formatCents(call.rateCents), window_size_minutes: call.windowMinutes },
        key(call, "call_incoming"),
      );
    },

    async ringByMail(call) {
      const [h, link] = await Promise.all([host(call), linkOf(call)]);
      if (!h?.email || !h.wantsIncomingMail) return;
      // Marked as the mail is queued, and only while still waiting and unrung: one mail, and none
      // once a live stream has received the notice or the call has moved on.
      const { count } = await db.call.updateMany({ where: { id: call.id, status: "waiting", notifiedAt: null }, data: { notifiedAt: new Date(clock.now()) } });
      if (count === 0) return;
      mail(h, true, "call_incoming", {
        guestName: call.guestName,
        shortCode: link.shortCode,
        rateCents: call.rateCents,
        windowMinutes: call.windowMinutes,
        answerBy: new Date(call.createdAt.getTime() + NO_SHOW_MS),
      });
    },

    async ended(call) {
      const link = await linkOf(call);
      if (call.endReason === "host_no_show") return noShow(call, link);
      return settled(call, link);
    },
  };
}

/** What people are told of money moving outside a call: refunds (to the guest) and payouts (to the host). */
export interface MoneyNotices {
  /** To a guest with an account: a refund of theirs succeeded (recorded by the API or a webhook); once per refund. */
  refunded(refund: Refund): Promise<void>;
  /** To the host: one of their payouts was paid or failed; once per payout and outcome. */
  payout(payout: Payout): Promise<void>;
}

export function moneyNotices({ db, n }: { db: Db; n: Pick<Notifications, "notify"> }): MoneyNotices {
  return {
    async refunded(refund) {
      // Told once the money is back: a refund still pending may yet fail (its later status comes by webhook).
      if (refund.status !== "succeeded") return;
      // A guest without an account has no notifications (its history shows the refund).
      const call = await db.call.findUnique({ where: { id: refund.callId }, select: { guestKind: true } });
      if (call?.guestKind !== "user") return;
      const data = {
        call_id: toUlid(refund.callId),
        refund_id: toUlid(refund.id),
        amount: formatCents(refund.amountCents),
        reason: refund.reason as RefundReason,
        status: refund.status as RefundStatus,
      };
      await n.notify(refund.guestId, "refund_issued", data, `refund:${refund.id}`);
    },
    async payout(p) {
      const type = p.status === "paid" ? "payout_paid" : p.status === "failed" ? "payout_failed" : null;
      if (!type) return;
      const data = {
        payout_id: toUlid(p.id),
        amount: formatCents(p.amountCents),
        currency: p.currency,
        arrival_at: p.arrivalAt?.toISOString() ?? null,
        failure_code: p.failureCode,
      };
      await n.notify(p.userId, type, data, `payout:${p.id}:${type}`);
    },
  };
}

/** At most this many missed notifications are replayed to a resumed stream (the rest stay in the list). */
export const MAX_REPLAY = 500;

export function notifications({ db, clock, pubsub, log }: { db: Db; clock: Clock; pubsub: PubSub; log: { warn(obj: unknown, msg: string): void } }): Notifications {
  return {
    async notify(userId, type, data, key) {
      const row: Notification = { id: uuidv7(clock), userId, type, data, createdAt: new Date(clock.now()), readAt: null, dedupeKey: key ?? null };
      // Already stored under this key (one per user and key), or the account is deleted (a deletion
      // under way holds its row: the insert waits for it, then finds it deleted): nothing to store or send.
      const stored = await db.$executeRaw`
        INSERT INTO "notifications" ("id", "user_id", "type", "data", "created_at", "dedupe_key")
        SELECT ${row.id}::uuid, "id", ${type}, ${JSON.stringify(data)}::jsonb, ${row.createdAt}, ${row.dedupeKey}
        FROM "users" WHERE "id" = ${userId}::uuid AND "deleted_at" IS NULL FOR SHARE
        ON CONFLICT DO NOTHING`;
      if (stored === 0) return null;
      // Stored is what counts: a client that misses the live message finds it in the list or on resume.
      const message: ChannelMessage = { t: "notification", notification: row };
      await pubsub.publish(userChannel(userId), JSON.stringify(message)).catch((err) => log.warn({ err, userId, type }, "notification stored but not published"));
      return row;
    },

    async list(userId, q) {
      const rows = await db.notification.findMany({
        where: { AND: [{ userId }, KNOWN, q.unread ? { readAt: null } : {}, afterCursor("notifications", q.cursor)] },
        orderBy: newestFirst,
        take: q.limit + 1,
      });
      return toPage("notifications", rows, q.limit);
    },

    unreadCount: (userId) => db.notification.count({ where: { userId, readAt: null, ...KNOWN } }),

    async markRead(userId, id) {
      const { count } = await db.notification.updateMany({ where: { id, userId, readAt: null }, data: { readAt: new Date(clock.now()) } });
      if (count === 0 && (await db.notification.count({ where: { id, userId } })) === 0) throw new AppError("not_found");
    },

    async markAllRead(userId) {
      await db.notification.updateMany({ where: { userId, readAt: null, ...KNOWN }, data: { readAt: new Date(clock.now()) } });
    },

    async since(userId, afterId) {
      const last = await db.notification.findFirst({ where: { id: afterId, userId }, select: { createdAt: true, id: true } });
      // An id that is not one of the user's (or no longer kept) resumes nothing: the list has the rest.
      if (!last) return [];
      return db.notification.findMany({
        where: { userId, ...KNOWN, OR: [{ createdAt: { gt: last.createdAt } }, { createdAt: last.createdAt, id: { gt: last.id } }] },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: MAX_REPLAY,
      });
    },
  };
}
