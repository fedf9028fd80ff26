// The rate-limit counter port: per-key hits in fixed windows, in-process or shared (Redis).
export interface RateCounter {
  /**
   * Counts one hit for `key` in a fixed window of `windowMs`; returns the count and ms left. Rejects
   * when the count cannot be known (the error's message says why, e.g. "Redis unreachable").
   */
  hit(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }>;
  close?(): Promise<void>;
}
