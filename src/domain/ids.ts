// Primary keys are UUIDv7 (time-ordered). The v1 surface renders them as 26-character ULIDs, the
// V-app surface renders users as USR-<uuid>. Both renderings are stable and reversible.
import { randomBytes } from "node:crypto";
import type { Clock } from "./ports/clock.ts";

let lastMs = -1;
let sequence = 0;

/**
 * RFC 9562 UUIDv7: 48-bit unix milliseconds, then a 12-bit sequence (method 1 of section 6.2) so
 * that ids made in one process within the same millisecond still sort in creation order, then 62
 * random bits.
 */
export function uuidv7(clock: Clock): string {
  const b = randomBytes(16);
  let now = clock.now();
  if (now <= lastMs) {
    sequence += 1;
    if (sequence > 0xfff) {
      lastMs += 1; // sequence exhausted: borrow the next millisecond
      sequence = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    sequence = 0;
  }
  const ms = BigInt(now);
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = 0x70 | (sequence >> 8);
  b[7] = sequence & 0xff;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** UUID (any version) → 26-char Crockford base32 ULID string. */
export function toUlid(uuid: string): string {
  let n = BigInt("0x" + uuid.replace(/-/g, ""));
  let out = "";
  for (let i = 0; i < 26; i++) {
    out = CROCKFORD[Number(n & 31n)] + out;
    n >>= 5n;
  }
  return out;
}

/** ULID → UUID, or null when the string is not a ULID. Accepts lower case, as ULID allows. */
export function fromUlid(ulid: string): string | null {
  const s = ulid.toUpperCase();
  if (!ULID_RE.test(s)) return null;
  let n = 0n;
  for (const c of s) n = (n << 5n) | BigInt(CROCKFORD.indexOf(c));
  const h = n.toString(16).padStart(32, "0");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A v1 path id as the UUID it names. An id that is not a ULID names no row: it becomes the all-zero
 * UUID, so the lookup answers the resource's own not-found error, as for any other missing id.
 */
export const pathId = (ulid: string): string => fromUlid(ulid) ?? "00000000-0000-0000-0000-000000000000";

export const toVappUserId = (uuid: string) => `USR-${uuid}`;

/** An account's V-app id: its Vonage user's id in Vonage mode (vonage-accounts.ts), else `USR-` + its id. */
export const vappIdOf = (u: { id: string; vonageUserId?: string | null }) => u.vonageUserId ?? toVappUserId(u.id);

export function fromVappUserId(id: string): string | null {
  const m = /^USR-(.+)$/.exec(id);
  return m && UUID_RE.test(m[1]!) ? m[1]! : null;
}
