// Pub/sub over Redis (REDIS_URL) for signaling fan-out between instances: one connection publishes,
// another subscribes (one SUBSCRIBE per channel, however many local handlers). Channels are
// namespaced. Redis delivers one publisher's messages in the order published. While Redis is
// unreachable, publish and subscribe reject at once and the callers log it; ending a subscription
// never rejects (it is retried once Redis is back). When Redis returns, ioredis subscribes the
// connection again to every channel it had (autoResubscribe), so relay resumes by itself. A
// handler that throws is logged, never propagated.
import type { Redis } from "ioredis";
import type { PubSub } from "../../domain/ports/pubsub.ts";

type Handler = (message: string) => void;
type Log = { error(obj: unknown, msg: string): void; warn(obj: unknown, msg: string): void };

interface Channel {
  handlers: Set<Handler>;
  /** The SUBSCRIBE of this channel's first handler. */
  subscribed: Promise<unknown>;
}

export class RedisPubSub implements PubSub {
  private channels = new Map<string, Channel>();
  /** Channels Redis may still send us although no handler is left (UNSUBSCRIBE failed or unknown). */
  private stale = new Set<string>();

  private readonly onMessage = (channel: string, message: string) => {
    for (const h of [...(this.channels.get(channel)?.handlers ?? [])]) {
      try {
        h(message);
      } catch (err) {
        this.log.error({ err, channel }, "pub/sub: handler failed");
      }
    }
  };

  private readonly onReady = () => {
    for (const key of this.stale) {
      this.stale.delete(key);
      if (!this.channels.has(key)) void this.unsubscribe(key);
    }
  };

  constructor(
    private publisher: Redis,
    private subscriber: Redis,
    private log: Log,
    private prefix = "vidivo:ps:",
  ) {
    subscriber.on("message", this.onMessage);
    subscriber.on("ready", this.onReady);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.publisher.publish(this.prefix + channel, message);
  }

  async subscribe(channel: string, handler: Handler) {
    const key = this.prefix + channel;
    let ch = this.channels.get(key);
    if (!ch) this.channels.set(key, (ch = { handlers: new Set(), subscribed: this.subscriber.subscribe(key) }));
    const own: Handler = (m) => handler(m);
    const entry = ch;
    entry.handlers.add(own);
    try {
      await entry.subscribed;
    } catch (err) {
      // A timed-out SUBSCRIBE may still take effect: Redis is told again once it is back.
      if (this.channels.get(key) === entry) this.channels.delete(key);
      this.stale.add(key);
      throw err;
    }
    return async () => {
      if (!entry.handlers.delete(own) || entry.handlers.size > 0 || this.channels.get(key) !== entry) return;
      this.channels.delete(key);
      await this.unsubscribe(key);
    };
  }

  /** Never rejects: a failure leaves the channel to be unsubscribed once Redis is back. */
  private unsubscribe(key: string): Promise<void> {
    return this.subscriber.unsubscribe(key).then(
      () => void this.stale.delete(key),
      (err: Error) => {
        this.stale.add(key);
        this.log.warn({ err: { message: err.message }, channel: key }, "pub/sub: unsubscribe failed; retried when Redis is back");
      },
    );
  }

  /** Stops delivering; the connections belong to their owner, who closes them. */
  async close() {
    this.subscriber.off("message", this.onMessage);
    this.subscriber.off("ready", this.onReady);
    this.channels.clear();
  }
}
