// In-process pub/sub. One instance may be shared by several apps in one process (tests of
// cross-instance delivery). Delivery is asynchronous and in publish order.
import type { PubSub } from "../../domain/ports/pubsub.ts";

export class MemoryPubSub implements PubSub {
  private channels = new Map<string, Set<(m: string) => void>>();

  async publish(channel: string, message: string): Promise<void> {
    const subs = this.channels.get(channel);
    if (!subs || subs.size === 0) return;
    const handlers = [...subs];
    queueMicrotask(() => {
      for (const h of handlers) h(message);
    });
  }

  async subscribe(channel: string, handler: (m: string) => void) {
    let subs = this.channels.get(channel);
    if (!subs) this.channels.set(channel, (subs = new Set()));
    const own = (m: string) => handler(m);
    subs.add(own);
    return async () => {
      subs.delete(own);
      if (subs.size === 0 && this.channels.get(channel) === subs) this.channels.delete(channel);
    };
  }

  async close() {}
}
