import type { Clock } from "../../domain/ports/clock.ts";
import type { RateCounter } from "../../domain/ports/rate-counter.ts";

/** In-process fixed-window counters; expired windows are swept as they are met. */
export class MemoryRateCounter implements RateCounter {
  private windows = new Map<string, { count: number; resetAt: number }>();
  private lastSweep = 0;
  constructor(private clock: Clock) {}
  async hit(key: string, windowMs: number) {
    const now = this.clock.now();
    if (now - this.lastSweep > 60_000 || this.windows.size > 100_000) this.sweep(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { count: w.count, ttlMs: w.resetAt - now };
  }
  private sweep(now: number) {
    this.lastSweep = now;
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }
}
