// One clock for every timer: token expiry, rate-limit windows, billing windows, no-show. Tests
// inject a ManualClock and move it instead of sleeping.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements Clock {
  private t: number;
  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.t = typeof start === "number" ? start : start.getTime();
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(t: number | Date): void {
    this.t = typeof t === "number" ? t : t.getTime();
  }
}

export const nowDate = (clock: Clock) => new Date(clock.now());
export const nowSeconds = (clock: Clock) => Math.floor(clock.now() / 1000);
