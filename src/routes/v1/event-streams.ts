// The live channel of signed-in users (GET /v1/events, docs/notifications.md): Server-Sent Events
// over one response that stays open. Each stream listens on its user's pub/sub channel, so a
// notification stored on any instance reaches every stream of that user. A resumed stream
// (Last-Event-ID) first replays what it missed. Liveness and token expiry are checked by sweep(),
// driven by the instance's tick and the injected clock, like the signaling hub's.
import { PassThrough } from "node:stream";
import { unknownCaller } from "../../domain/errors.ts";
import { uuidv7 } from "../../domain/ids.ts";
import { isKnownType, userChannel, type ChannelMessage, type Notification, type Notifications } from "../../domain/notifications.ts";
import type { Clock } from "../../domain/ports/clock.ts";
import type { PubSub } from "../../domain/ports/pubsub.ts";
import type { PresentedToken } from "../../domain/principal.ts";
import { notificationView } from "./views.ts";

/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
export const HEARTBEAT_MS = 25_000;
/** What a reconnecting EventSource waits before trying again. */
const RETRY_MS = 3_000;

interface Stream {
  /** Time-ordered: of two streams of one token, the later opened has the greater id. */
  id: string;
  userId: string;
  token: PresentedToken;
  body: PassThrough;
  lastWriteAt: number;
  /** Live notifications that arrive while the missed ones are replayed, and the ids already sent. */
  pending: Notification[] | null;
  sent: Set<string>;
}

type Log = { warn(obj: unknown, msg: string): void; error(obj: unknown, msg: string): void };
type Entry = { streams: Set<Stream>; unsubscribe: Promise<() => Promise<void>> };

export class EventStreams {
  private byUser = new Map<string, Entry>();
  private closed = false;

  constructor(
    private deps: {
      clock: Clock;
      pubsub: PubSub;
      notifications: Notifications;
      log: Log;
      /** A notification reached a live stream of its user (the user has been told). */
      delivered?: (n: Notification) => void;
      /** Whether the account still exists (not deleted). */
      accountExists?: (userId: string) => Promise<boolean>;
    },
  ) {}

  /**
   * Opens a stream for the caller's token: ends any older stream of the same token (on any
   * instance), replays what came after `lastEventId`, then delivers live notifications. Returns
   * the response body; it ends when `gone` aborts (the client left), the token expires or the
   * instance stops (a stream opened while it stops ends at once: the client reconnects elsewhere).
   */
  async open(userId: string, token: PresentedToken, lastEventId: string | null, gone: AbortSignal): Promise<PassThrough> {
    const stream: Stream = {
      id: uuidv7(this.deps.clock),
      userId,
      token,
      body: new PassThrough(),
      lastWriteAt: this.deps.clock.now(),
      pending: lastEventId ? [] : null,
      sent: new Set(),
    };
    this.write(stream, `retry: ${RETRY_MS}\n\n`);
    if (this.closed || gone.aborted) return this.end(stream, null);
    gone.addEventListener("abort", () => this.end(stream, null), { once: true });
    try {
      await this.join(stream);
      if (stream.body.writableEnded) return stream.body;
      // Deleted after the request's token check and before the subscription: the "closed"
      // message went by unheard, so the account is read again now that one would be heard.
      if (this.deps.accountExists && !(await this.deps.accountExists(userId))) throw unknownCaller();
      const replaced: ChannelMessage = { t: "replaced", tokenId: token.id, stream: stream.id };
      await this.deps.pubsub.publish(userChannel(userId), JSON.stringify(replaced)).catch((err) => this.deps.log.warn({ err }, "events: replacement not published"));
      if (lastEventId) {
        for (const n of await this.deps.notifications.since(userId, lastEventId)) this.send(stream, n);
        const live = stream.pending ?? [];
        stream.pending = null;
        for (const n of live) if (!stream.sent.has(n.id)) this.send(stream, n);
        stream.sent.clear();
      }
      return stream.body;
    } catch (err) {
      this.end(stream, null);
      throw err;
    }
  }

  /** Heartbeats, and the end of streams whose token has expired. */
  sweep() {
    const now = this.deps.clock.now();
    for (const { streams } of this.byUser.values()) {
      for (const s of streams) {
        if (now >= s.token.expiresAt) this.end(s, "token_expired");
        else if (now - s.lastWriteAt >= HEARTBEAT_MS) this.write(s, ": heartbeat\n\n");
      }
    }
  }

  /** How many streams this instance holds (for tests and metrics). */
  get size() {
    let n = 0;
    for (const { streams } of this.byUser.values()) n += streams.size;
    return n;
  }

  /** Ends every stream, and every one opened from now on (the instance is stopping): clients reconnect elsewhere with Last-Event-ID. */
  async close() {
    this.closed = true;
    for (const { streams } of [...this.byUser.values()]) for (const s of [...streams]) this.end(s, null);
  }

  private async join(stream: Stream) {
    let entry = this.byUser.get(stream.userId);
    if (!entry) {
      const channel = userChannel(stream.userId);
      const created: Entry = { streams: new Set(), unsubscribe: Promise.resolve(async () => undefined) };
      created.unsubscribe = this.deps.pubsub.subscribe(channel, (m) => this.deliver(created, m));
      this.byUser.set(stream.userId, (entry = created));
      // The stream still gets its replay and heartbeats; the next stream of the user subscribes again.
      created.unsubscribe.catch((err) => {
        this.deps.log.error({ err }, "events: subscription failed");
        if (this.byUser.get(stream.userId) === created) this.byUser.delete(stream.userId);
      });
    }
    entry.streams.add(stream);
    await entry.unsubscribe.catch(() => undefined);
    // Left (or the instance stopped) while subscribing.
    if (this.closed && !stream.body.writableEnded) this.end(stream, null);
  }

  private leave(stream: Stream) {
    const entry = this.byUser.get(stream.userId);
    if (!entry?.streams.delete(stream) || entry.streams.size > 0) return;
    this.byUser.delete(stream.userId);
    entry.unsubscribe
      .then((unsubscribe) => unsubscribe())
      .catch(() => undefined); // a subscription that failed has nothing to end
  }

  /** A message on a user's channel, for the streams of the subscription it came through (an ended one's get nothing). */
  private deliver(entry: Entry, raw: string) {
    if (entry.streams.size === 0) return;
    let message: ChannelMessage;
    try {
      message = JSON.parse(raw) as ChannelMessage;
    } catch (err) {
      this.deps.log.error({ err }, "events: unreadable channel message");
      return;
    }
    for (const s of [...entry.streams]) {
      if (message.t === "replaced") {
        // Only older streams of the token give way: of two opened at once, the later one stays.
        if (message.tokenId === s.token.id && s.id < message.stream) this.end(s, "replaced");
      } else if (message.t === "closed") {
        // The account is deleted: the client's reconnection is refused (401).
        this.end(s, null);
      } else {
        const n = { ...message.notification, createdAt: new Date(message.notification.createdAt), readAt: null };
        if (s.pending) s.pending.push(n);
        else this.send(s, n);
      }
    }
  }

  private send(s: Stream, n: Notification) {
    if (!isKnownType(n.type)) return; // a newer version's: see NOTIFICATION_TYPES
    if (s.pending) s.sent.add(n.id);
    const view = notificationView(n);
    this.write(s, `id: ${view.id}\nevent: notification\ndata: ${JSON.stringify(view)}\n\n`);
    this.deps.delivered?.(n);
  }

  private write(s: Stream, text: string) {
    s.lastWriteAt = this.deps.clock.now();
    if (!s.body.writableEnded) s.body.write(text);
  }

  /** Ends a stream, telling the client why (null: no event, the client left or the instance is stopping). */
  private end(s: Stream, reason: "replaced" | "token_expired" | null): PassThrough {
    if (reason) this.write(s, `event: ${reason}\ndata: {}\n\n`);
    if (!s.body.writableEnded) s.body.end();
    this.leave(s);
    return s.body;
  }
}
