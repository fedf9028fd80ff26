// Call links (docs/calls.md, "Call links"): a host's terms (rate per minute, window size) behind an
// unguessable short code, with optional expiry, use limit and schedule. Links are deactivated,
// never deleted.
import { randomBytes } from "node:crypto";
import { columns, type Db, type Sql } from "../db/client.ts";
import type { CallLink } from "../db/generated/client.ts";
import { isUniqueViolation } from "./accounts.ts";
import type { Clock } from "./ports/clock.ts";
import { AppError, type FieldErrors } from "./errors.ts";
import { uuidv7 } from "./ids.ts";
import { afterCursor, newestFirst, toPage } from "./pagination.ts";

export type { CallLink };
export type UnavailableReason = "inactive" | "expired" | "uses_exhausted" | "outside_schedule" | "payments_disabled";

export const MIN_RATE_CENTS = 50;
export const MAX_RATE_CENTS = 99_999;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const SHORT_CODE_LENGTH = 10; // 62^10 ≈ 8·10^17

export function newShortCode(): string {
  let out = "";
  while (out.length < SHORT_CODE_LENGTH) {
    for (const b of randomBytes(16)) {
      if (b < 248 && out.length < SHORT_CODE_LENGTH) out += BASE62[b % 62]; // 248 = 4·62: no bias
    }
  }
  return out;
}

/** A host's terms for a link, as set on create (rate and window required) or update; absent ones stay as they are. */
export type LinkTerms = Partial<Pick<CallLink, "rateCents" | "windowMinutes" | "expiresAt" | "maxUses" | "label" | "scheduledStart" | "scheduledEnd" | "isActive">>;
/** A new link's terms: a new link is always active. */
export type NewLinkTerms = Omit<LinkTerms, "isActive"> & Pick<CallLink, "rateCents" | "windowMinutes">;

/**
 * Business rules beyond the schema: the rate's range, real instants and the schedule's order (a
 * NaN amount or an Invalid Date is a value the request could not give). Errors name the API's fields.
 */
function checkTerms(t: LinkTerms, current?: CallLink): void {
  const errors: FieldErrors = {};
  const cents = t.rateCents;
  if (cents !== undefined && !(Number.isInteger(cents) && cents >= MIN_RATE_CENTS && cents <= MAX_RATE_CENTS)) {
    errors.rate_per_minute = "must be an amount between 0.50 and 999.99 with two decimals";
  }
  for (const [field, key] of [["expires_at", "expiresAt"], ["scheduled_start", "scheduledStart"], ["scheduled_end", "scheduledEnd"]] as const) {
    if (Number.isNaN(t[key]?.getTime())) errors[field] = "must be a valid date-time";
  }
  const start = t.scheduledStart !== undefined ? t.scheduledStart : (current?.scheduledStart ?? null);
  const end = t.scheduledEnd !== undefined ? t.scheduledEnd : (current?.scheduledEnd ?? null);
  if (start && end && end.getTime() <= start.getTime()) errors.scheduled_end = "must be after scheduled_start";
  if (Object.keys(errors).length) throw new AppError("validation_error", errors);
}

/** Why the link cannot be called at `now`, or null when it can. */
export function unavailableReason(link: CallLink, now: number): UnavailableReason | null {
  if (!link.isActive) return "inactive";
  if (link.expiresAt && link.expiresAt.getTime() <= now) return "expired";
  if (link.maxUses !== null && link.useCount >= link.maxUses) return "uses_exhausted";
  if (link.scheduledStart && now < link.scheduledStart.getTime()) return "outside_schedule";
  if (link.scheduledEnd && now >= link.scheduledEnd.getTime()) return "outside_schedule";
  return null;
}

/** A call_links row as Prisma's `CallLink`. */
const LINK = columns({
  id: "id",
  hostId: "host_id",
  shortCode: "short_code",
  rateCents: "rate_cents",
  windowMinutes: "window_minutes",
  expiresAt: "expires_at",
  maxUses: "max_uses",
  useCount: "use_count",
  label: "label",
  scheduledStart: "scheduled_start",
  scheduledEnd: "scheduled_end",
  isActive: "is_active",
  createdAt: "created_at",
  updatedAt: "updated_at",
});
// One INSERT … RETURNING in raw SQL (through Prisma it cost ~4× the statement).
const INSERT_LINK = `INSERT INTO call_links (id, host_id, short_code, rate_cents, window_minutes, expires_at, max_uses, label,
  scheduled_start, scheduled_end, is_active, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true, $11, $11) RETURNING ${LINK}`;

export function links({ db, sql, clock }: { db: Db; sql: Sql; clock: Clock }) {
  async function owned(hostId: string, id: string): Promise<CallLink> {
    const link = await db.callLink.findUnique({ where: { id } });
    // Another host's link is indistinguishable from a missing one.
    if (!link || link.hostId !== hostId) throw new AppError("link_not_found");
    return link;
  }

  return {
    owned,

    async create(hostId: string, data: NewLinkTerms) {
      checkTerms(data);
      const now = new Date(clock.now());
      for (let attempt = 0; ; attempt++) {
        try {
          const [link] = await sql.query<CallLink>(INSERT_LINK, [
            uuidv7(clock),
            hostId,
            newShortCode(),
            data.rateCents,
            data.windowMinutes,
            data.expiresAt ?? null,
            data.maxUses ?? null,
            data.label ?? null,
            data.scheduledStart ?? null,
            data.scheduledEnd ?? null,
            now,
          ]);
          return link!;
        } catch (err) {
          if (!isUniqueViolation(err) || attempt >= 3) throw err;
        }
      }
    },

    async list(hostId: string, q: { active?: boolean; limit: number; cursor?: string }) {
      const rows = await db.callLink.findMany({
        where: { hostId, ...(q.active === undefined ? {} : { isActive: q.active }), ...afterCursor("links", q.cursor) },
        orderBy: newestFirst,
        take: q.limit + 1,
      });
      return toPage("links", rows, q.limit);
    },

    async update(hostId: string, id: string, data: LinkTerms) {
      const link = await owned(hostId, id);
      checkTerms(data, link);
      return db.callLink.update({ where: { id: link.id }, data: { ...data, updatedAt: new Date(clock.now()) } });
    },

    async deactivate(hostId: string, id: string) {
      const link = await owned(hostId, id);
      if (!link.isActive) return link;
      return db.callLink.update({ where: { id: link.id }, data: { isActive: false, updatedAt: new Date(clock.now()) } });
    },

    byShortCode: (shortCode: string) => db.callLink.findUnique({ where: { shortCode } }),

    /**
     * Counts one use unless the link ran out or was deactivated meanwhile; false when it was. A
     * deactivation (its host's, or the host account's deletion) cancels the calls waiting on the
     * link: one whose call row did not exist yet is refused here instead, so no call on it waits.
     */
    async countUse(linkId: string): Promise<boolean> {
      const n = await db.$executeRaw`UPDATE "call_links" SET "use_count" = "use_count" + 1
        WHERE "id" = ${linkId}::uuid AND "is_active" AND ("max_uses" IS NULL OR "use_count" < "max_uses")`;
      return n === 1;
    },
  };
}

export type Links = ReturnType<typeof links>;
