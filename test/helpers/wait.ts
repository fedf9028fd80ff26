// Waiting on real time, for the tests whose subject is real time or other processes (a clock
// that tests move is the rule elsewhere).

/** Polls `probe` every `everyMs` until it returns a truthy value, which it returns (fails after `ms`). */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 15_000, everyMs = 100): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
