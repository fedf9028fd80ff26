// The Redis connections of one instance (REDIS_URL): one for commands (rate-limit counting,
// publishing, readiness) and one for subscriptions (a subscribed connection takes no other command).
// Commands fail fast while Redis is unreachable (no offline queue, a short command timeout, nothing
// re-sent after a reconnect), so callers fail open or report instead of waiting. Both connections
// reconnect by themselves; ioredis subscribes again to every channel the subscriber had. ioredis is
// imported here, when REDIS_URL is set, not by every start.
import type { Redis } from "ioredis";
import type { Clock } from "../domain/ports/clock.ts";

export const REDIS_COMMAND_TIMEOUT_MS = 500;
const WARN_EVERY_MS = 60_000;

type Log = { info(obj: unknown, msg: string): void; warn(obj: unknown, msg: string): void };

export interface RedisConnections {
  /** Rate-limit counting, publishing, readiness. */
  commands: Redis;
  /** Subscriptions only. */
  subscriber: Redis;
  /** Resolves true once both connections are ready, false after `ms` (boot does not wait longer). */
  connected(ms: number): Promise<boolean>;
  /** Both connections up and the server answering a PING in time. */
  reachable(): Promise<boolean>;
  close(): Promise<void>;
}

export async function openRedis(url: string, deps: { log: Log; clock: Clock }): Promise<RedisConnections> {
  const { Redis } = await import("ioredis");
  const { log, clock } = deps;
  const options = {
    connectionName: "vidivo",
    enableOfflineQueue: false,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: true,
    // Reconnect forever, backing off to one attempt every two seconds.
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
  };
  const commands = new Redis(url, options);
  const subscriber = new Redis(url, options);

  // Connection errors repeat on every reconnect attempt: one warning a minute, and a line when back.
  let warnedAt = -Infinity;
  let down = false;
  for (const [name, conn] of [["commands", commands], ["subscriber", subscriber]] as const) {
    conn.on("error", (err: Error) => {
      down = true;
      if (clock.now() - warnedAt < WARN_EVERY_MS) return;
      warnedAt = clock.now();
      log.warn({ err: { message: err.message, code: (err as { code?: string }).code }, connection: name }, "Redis unreachable");
    });
    conn.on("ready", () => {
      if (!down) return;
      down = false;
      log.info({ connection: name }, "Redis reachable again");
    });
  }

  const ready = (c: Redis) => (c.status === "ready" ? Promise.resolve() : new Promise<void>((resolve) => c.once("ready", () => resolve())));
  const quit = async (c: Redis) => {
    if (c.status === "ready") await c.quit().catch(() => c.disconnect());
    else c.disconnect();
  };

  return {
    commands,
    subscriber,
    async connected(ms) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      const ok = await Promise.race([Promise.all([ready(commands), ready(subscriber)]).then(() => true), timeout]);
      clearTimeout(timer);
      return ok;
    },
    async reachable() {
      if (subscriber.status !== "ready") return false;
      return commands.ping().then(
        (r) => r === "PONG",
        () => false,
      );
    },
    async close() {
      await Promise.all([quit(commands), quit(subscriber)]);
    },
  };
}
