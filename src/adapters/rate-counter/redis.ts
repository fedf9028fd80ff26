// Rate-limit counters in Redis (REDIS_URL), shared by every instance: the RateCounter port with
// one atomic script per hit (INCR, PEXPIRE on the window's first hit, PTTL), so fixed windows and
// the same numbers as the in-process counter. The window is Redis's own TTL, not the injected
// clock: tests against Redis observe windows, they do not move time through them. A hit that
// fails (Redis unreachable, or slower than the command timeout) rejects with "Redis unreachable";
// the rate-limit plugin then lets the request through (fail open).
import type { Redis, Result } from "ioredis";
import type { RateCounter } from "../../domain/ports/rate-counter.ts";

const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    vidivoRateHit(key: string, windowMs: number): Result<[number, number], Context>;
  }
}

export class RedisRateCounter implements RateCounter {
  constructor(
    private redis: Redis,
    private prefix = "vidivo:rl:",
  ) {
    // Sent as EVALSHA, loaded by EVAL when the server does not know it yet (e.g. after a restart).
    redis.defineCommand("vidivoRateHit", { numberOfKeys: 1, lua: HIT });
  }

  async hit(key: string, windowMs: number) {
    try {
      const [count, ttlMs] = await this.redis.vidivoRateHit(this.prefix + key, windowMs);
      return { count, ttlMs };
    } catch (err) {
      throw new Error("Redis unreachable", { cause: err });
    }
  }
}
