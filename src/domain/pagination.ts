// Cursor pagination (docs/api.md, "Pagination"): newest first by (created_at, id). The cursor is
// base64url JSON of the last item's sort key, tagged with the list it belongs to; anything that
// does not decode to exactly that is a validation_error, never a 500.
import { AppError } from "./errors.ts";

export interface PageRequest {
  limit?: number;
  cursor?: string;
}

export interface SortKey {
  createdAt: Date;
  id: string;
}

/** One page of a list; `cursor` continues after its last item (null on the last page). */
export interface Page<T> {
  data: T[];
  cursor: string | null;
  hasMore: boolean;
  limit: number;
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The instants encodeCursor writes: four-digit years from 1970 (no expanded or negative years, which PostgreSQL refuses). */
const INSTANT_RE = /^(19[7-9]\d|[2-9]\d{3})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeCursor(list: string, key: SortKey): string {
  return Buffer.from(JSON.stringify({ l: list, t: key.createdAt.toISOString(), i: key.id })).toString("base64url");
}

export function decodeCursor(list: string, cursor: string): SortKey {
  const invalid = new AppError("validation_error", { cursor: "is not a valid cursor for this list" });
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) throw invalid;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid;
  }
  const o = v as { l?: unknown; t?: unknown; i?: unknown };
  if (!o || typeof o !== "object" || Object.keys(o).length !== 3 || o.l !== list) throw invalid;
  if (typeof o.i !== "string" || !UUID_RE.test(o.i) || typeof o.t !== "string" || !INSTANT_RE.test(o.t)) throw invalid;
  const createdAt = new Date(o.t);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== o.t) throw invalid;
  return { createdAt, id: o.i };
}

/** Prisma `where` fragment for the rows after the cursor (newest first), or {} for the first page. */
export function afterCursor(list: string, cursor: string | undefined) {
  if (!cursor) return {};
  const k = decodeCursor(list, cursor);
  return { OR: [{ createdAt: { lt: k.createdAt } }, { createdAt: k.createdAt, id: { lt: k.id } }] };
}

/** Prisma ordering that matches afterCursor. */
export const newestFirst = [{ createdAt: "desc" as const }, { id: "desc" as const }];

export function pageLimit(limit: number | undefined): number {
  return limit ?? DEFAULT_LIMIT;
}

/**
 * The page of rows fetched with `take: limit + 1` (the extra row only tells whether there is
 * more).
 */
export function toPage<R extends SortKey>(list: string, rows: R[], limit: number): Page<R> {
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, cursor: hasMore && last ? encodeCursor(list, last) : null, hasMore, limit };
}
