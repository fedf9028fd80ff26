// Notifications (docs/notifications.md): what a user should know, stored per user, newest first,
// read or unread. Each one is published on the user's pub/sub channel the moment it is stored, so
// the live channel (GET /v1/events) delivers it on whichever instance the user is connected to.
import type { Db } from "../db/client.ts";
import type { Call, CallLink, Notification } from "../db/generated/client.ts";
import { AppError } from "./errors.ts";
import { toUlid, uuidv7 } from "./ids.ts";
import { formatCents } from "./money.ts";
import { afterCursor, newestFirst, toPage, type Page } from "./pagination.ts";
import type { Clock } from "./ports/clock.ts";
import type { PubSub } from "./ports/pubsub.ts";

export type { Notification };

/** The types built so far and the shape of their `data` (openapi.yaml, NotificationType). */
export interface NotificationData {
  /** To the host: a guest is waiting on one of their links. */
  call_incoming: { call_id: string; link_id: string; short_code: string; guest_display_name: string; rate_per_minute: string; window_size_minutes: number };
  /** To the host: they never joined, the call was cancelled (the no-show). */
  call_missed: { call_id: string; link_id: string; short_code: string; guest_display_name: string };
}
export type NotificationType = keyof NotificationData;

/** What a user's channel carries: a stored notification, or the end of a stream elsewhere (one stream per token). */
export type ChannelMessage = { t: "notification"; notification: Notification } | { t: "replaced"; tokenId: string; stream: string };

export const userChannel = (userId: string) => `user:${userId}`;

export interface Notifications {
  /** Stores a notification for the user and publishes it on their channel. */
  notify<T extends NotificationType>(userId: string, type: T, data: NotificationData[T]): Promise<Notification>;
  list(userId: string, q: { unread?: boolean | undefined; limit: number; cursor?: string | undefined }): Promise<Page<Notification>>;
  unreadCount(userId: string): Promise<number>;
  /** Marks one read (the first read_at stays); another user's or an unknown id is not_found. */
  markRead(userId: string, id: string): Promise<void>;
  markAllRead(userId: string): Promise<void>;
  /** The user's notifications stored after `afterId` (a notification id), oldest first: what a resumed stream missed. */
  since(userId: string, afterId: string): Promise<Notification[]>;
}

/**
 * The notices about calls, built from the call's records. `data` is stored as the client reads it
 * (ids as ULIDs, amounts as decimal strings): a notification is a message, kept as it was sent.
 */
export interface CallNotices {
  /** To the host: a guest is waiting. */
  incoming(call: Call, link: CallLink): Promise<void>;
  /** To the host: the call ended because the host never joined. */
  missed(call: Call): Promise<void>;
}

export function callNotices(db: Db, n: Pick<Notifications, "notify">): CallNotices {
  const about = (call: Call, link: CallLink) => ({
    call_id: toUlid(call.id),
    link_id: toUlid(link.id),
    short_code: link.shortCode,
    guest_display_name: call.guestName,
  });
  return {
    async incoming(call, link) {
      await n.notify(call.hostId, "call_incoming", { ...about(call, link), rate_per_minute: formatCents(call.rateCents), window_size_minutes: call.windowMinutes });
    },
    async missed(call) {
      const link = await db.callLink.findUniqueOrThrow({ where: { id: call.linkId } });
      await n.notify(call.hostId, "call_missed", about(call, link));
    },
  };
}

/** At most this many missed notifications are replayed to a resumed stream (the rest stay in the list). */
export const MAX_REPLAY = 500;

export function notifications({ db, clock, pubsub, log }: { db: Db; clock: Clock; pubsub: PubSub; log: { warn(obj: unknown, msg: string): void } }): Notifications {
  return {
    async notify(userId, type, data) {
      const row = await db.notification.create({
        data: { id: uuidv7(clock), userId, type, data, createdAt: new Date(clock.now()) },
      });
      // Stored is what counts: a client that misses the live message finds it in the list or on resume.
      const message: ChannelMessage = { t: "notification", notification: row };
      await pubsub.publish(userChannel(userId), JSON.stringify(message)).catch((err) => log.warn({ err, userId, type }, "notification stored but not published"));
      return row;
    },

    async list(userId, q) {
      const rows = await db.notification.findMany({
        where: { AND: [{ userId }, q.unread ? { readAt: null } : {}, afterCursor("notifications", q.cursor)] },
        orderBy: newestFirst,
        take: q.limit + 1,
      });
      return toPage("notifications", rows, q.limit);
    },

    unreadCount: (userId) => db.notification.count({ where: { userId, readAt: null } }),

    async markRead(userId, id) {
      const { count } = await db.notification.updateMany({ where: { id, userId, readAt: null }, data: { readAt: new Date(clock.now()) } });
      if (count === 0 && (await db.notification.count({ where: { id, userId } })) === 0) throw new AppError("not_found");
    },

    async markAllRead(userId) {
      await db.notification.updateMany({ where: { userId, readAt: null }, data: { readAt: new Date(clock.now()) } });
    },

    async since(userId, afterId) {
      const last = await db.notification.findFirst({ where: { id: afterId, userId }, select: { createdAt: true, id: true } });
      // An id that is not one of the user's (or no longer kept) resumes nothing: the list has the rest.
      if (!last) return [];
      return db.notification.findMany({
        where: { userId, OR: [{ createdAt: { gt: last.createdAt } }, { createdAt: last.createdAt, id: { gt: last.id } }] },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: MAX_REPLAY,
      });
    },
  };
}
