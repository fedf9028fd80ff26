// argon2id password hashing. Parameters are configurable (OWASP minimum by default); a hash made
// with older parameters is replaced at the next successful login. A login for an unknown account
// verifies against a dummy hash, so it costs the same work as a wrong password.
import argon2 from "argon2";

export interface PasswordParams {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export interface Passwords {
  hash(password: string): Promise<string>;
  /** Verifies `password` against `hash`, or against a dummy hash when there is no account. */
  verify(hash: string | null, password: string): Promise<boolean>;
  needsRehash(hash: string): boolean;
}

export function argon2Passwords(params: PasswordParams): Passwords {
  const options = { type: argon2.argon2id as 2, ...params };
  // Made at start-up, so that the first unknown-account login costs no extra hash either.
  const dummy = argon2.hash("dummy password for timing", options);
  dummy.catch(() => {}); // a failure surfaces at the first use
  return {
    hash: (password) => argon2.hash(password, options),
    async verify(hash, password) {
      const target = hash ?? (await dummy);
      try {
        const ok = await argon2.verify(target, password);
        return ok && hash !== null;
      } catch {
        return false;
      }
    },
    needsRehash: (hash) => argon2.needsRehash(hash, params),
  };
}
