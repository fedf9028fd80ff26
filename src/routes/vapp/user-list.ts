// The V-app user list as sent (docs/vapp.md, "User object and user list"): every listed user but
// the caller, as a JSON array. Each directory snapshot is rendered once (every user's JSON object,
// the whole array's bytes, and the array gzipped in segments of SEGMENT_USERS users); a caller's
// list is then the whole array with the caller's segment rebuilt without them, sent from the
// rendered bytes as they are, with one small deflate for the gzip body. Serializing 10,000 users
// per request, or compressing their 1.3 MB, costs tens of milliseconds of CPU; this costs a
// fraction of one.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { DirectorySnapshot } from "../../domain/directory.ts";
import { vappIdOf } from "../../domain/ids.ts";
import { deflatePart, gzipParts, type DeflatedPart, type GzipParts } from "./gzip-parts.ts";

/** Below this the list is sent as it is (the compression threshold of app.ts: one packet). */
export const GZIP_MIN_BYTES = 1400;

/**
 * Users per gzip segment (about 10 KB of JSON): each segment is compressed alone, which costs 2 %
 * of the compressed size at 64 (15 % at 16, 1 % at 128), and the caller's segment is deflated per
 * request, which costs twice as much at 128 as at 64.
 */
export const SEGMENT_USERS = 64;

/**
 * Per rendering, the gzip bodies of the last CALLERS_KEPT callers are kept (a client polls the list;
 * its gzip body costs a deflate of its segment, ~250 µs, and takes ~2 KB to keep).
 */
export const CALLERS_KEPT = 1000;

function perCaller<V>(make: (callerId: string) => V): (callerId: string) => V {
  const kept = new Map<string, V>();
  return (callerId) => {
    let v = kept.get(callerId);
    if (v === undefined) {
      v = make(callerId);
      if (kept.size >= CALLERS_KEPT) kept.delete(kept.keys().next().value!);
      kept.set(callerId, v);
    }
    return v;
  };
}

export interface VappUserFields {
  id: string;
  username: string | null;
  displayName: string;
  imageKey: string | null;
  vonageUserId?: string | null;
}

export interface UserList {
  /** The directory version it was rendered from. */
  readonly version: string;
  /** Size of the whole array (every listed user). */
  readonly bytes: number;
  /** The JSON array of every listed user but `callerId` (an account id), as buffers to send in order. */
  json(callerId: string): Buffer[];
  /** The same bytes, gzip-encoded. */
  gzip(callerId: string): Buffer[];
}

/** Renders snapshots, each once (calls for the same snapshot share one rendering). */
export function userListRenderer(imageUrl: (key: string | null) => string | null) {
  const vappUser = (u: VappUserFields) => ({ id: vappIdOf(u), name: u.username ?? "", display_name: u.displayName, image_url: imageUrl(u.imageKey) });
  const rendered = new WeakMap<DirectorySnapshot, Promise<UserList>>();
  // The last rendering's users and segments: a new version re-serializes only the users that
  // changed and compresses only the segments that did.
  let previousUsers = new Map<string, { user: VappUserFields; json: string }>();
  let previous: { bytes: Buffer; part: DeflatedPart }[] = [];
  const same = (a: VappUserFields, b: VappUserFields) => a.vonageUserId === b.vonageUserId && a.username === b.username && a.displayName === b.displayName && a.imageKey === b.imageKey;

  async function render(snapshot: DirectorySnapshot): Promise<UserList> {
    const { entries } = snapshot;
    const users = new Map<string, { user: VappUserFields; json: string }>();
    const objects = entries.map((user) => {
      const before = previousUsers.get(user.id);
      const json = before && same(before.user, user) ? before.json : JSON.stringify(vappUser(user));
      users.set(user.id, { user, json });
      return json;
    });
    previousUsers = users;
    const position = new Map(entries.map((e, i) => [e.id, i]));
    const last = Math.max(0, Math.ceil(entries.length / SEGMENT_USERS) - 1);
    /** Segment k's bytes, without user `skip`: "[" opens the first, "," joins, "]" closes the last. */
    const segmentBytes = (k: number, skip = -1) => {
      const inner = objects.slice(k * SEGMENT_USERS, (k + 1) * SEGMENT_USERS).filter((_, i) => k * SEGMENT_USERS + i !== skip).join(",");
      return Buffer.from((k === 0 ? "[" : inner ? "," : "") + inner + (k === last ? "]" : ""));
    };
    const segmentBuffers = Array.from({ length: last + 1 }, (_, k) => segmentBytes(k));
    const whole = Buffer.concat(segmentBuffers);
    /** Where each segment's bytes lie in the whole array. */
    const segments: { start: number; end: number }[] = [];
    for (let k = 0, start = 0; k <= last; start += segmentBuffers[k]!.length, k++) segments.push({ start, end: start + segmentBuffers[k]!.length });
    const parts = await Promise.all(segmentBuffers.map((bytes, k) => (previous[k]?.bytes.equals(bytes) ? previous[k]!.part : deflatePart(bytes))));
    previous = segments.map(({ start, end }, k) => ({ bytes: whole.subarray(start, end), part: parts[k]! }));
    const gzip: GzipParts = gzipParts(parts);
    let gzipWhole: Buffer[] | undefined;

    const callerAt = (callerId: string) => {
      const i = position.get(callerId);
      if (i === undefined) return undefined;
      const k = Math.floor(i / SEGMENT_USERS);
      return { k, bytes: segmentBytes(k, i) };
    };
    return {
      version: snapshot.version,
      bytes: whole.length,
      json(callerId) {
        const at = callerAt(callerId);
        if (!at) return [whole];
        const { start, end } = segments[at.k]!;
        return [whole.subarray(0, start), at.bytes, whole.subarray(end)];
      },
      gzip: perCaller((callerId) => {
        const at = callerAt(callerId);
        return at ? gzip.replacing(at.k, at.bytes) : (gzipWhole ??= gzip.whole());
      }),
    };
  }

  return {
    vappUser,
    /** The rendering of `snapshot` (made on first use). */
    listOf(snapshot: DirectorySnapshot): Promise<UserList> {
      let list = rendered.get(snapshot);
      if (!list) {
        list = render(snapshot);
        rendered.set(snapshot, list);
        list.catch(() => rendered.delete(snapshot));
      }
      return list;
    },
  };
}

/**
 * The list's validator for one caller: it changes with the directory and differs per caller (the
 * caller is left out). Weak: the identity and gzip bodies are the same list in two encodings.
 */
export function userListEtag(version: string, callerId: string, renderKey: string): string {
  const caller = createHash("sha256").update(`${renderKey}\n${callerId}`).digest("base64url").slice(0, 16);
  return `W/"${version}-${caller}"`;
}

/** Whether If-None-Match names `etag` (weak comparison, RFC 9110 13.1.2), or is `*`. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.trim() === "*" || header.split(",").some((tag) => opaque(tag) === opaque(etag));
}

/** Whether Accept-Encoding admits gzip: named (or x-gzip) with q > 0, or `*` with q > 0 when gzip is not named. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let gzip: number | undefined;
  let any: number | undefined;
  for (const item of header.toLowerCase().split(",")) {
    const [coding, ...params] = item.split(";").map((p) => p.trim());
    const q = params.find((p) => p.startsWith("q="));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (coding === "gzip" || coding === "x-gzip") gzip = weight;
    else if (coding === "*") any = weight;
  }
  return (gzip ?? any ?? 0) > 0;
}

/**
 * A body made of buffers already in memory, streamed as they are: copying a large list into one
 * new buffer per request costs about a millisecond per 500 KB (fresh memory pages every time).
 * `parts` lets an observer that sees the body before it is sent (the test suite's contract check)
 * read it whole.
 */
export function bodyOf(parts: Buffer[]): Readable & { parts: Buffer[]; length: number } {
  return Object.assign(Readable.from(parts, { objectMode: false }), { parts, length: parts.reduce((n, p) => n + p.length, 0) });
}
