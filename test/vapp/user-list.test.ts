// The rendered V-app user list without HTTP: every caller's list, as bytes and gzip-encoded, is
// the list without them, at every position and size (segment edges included); the gzip assembly
// and its CRC arithmetic; the header rules GET /users applies.
import { randomBytes, randomUUID } from "node:crypto";
import zlib from "node:zlib";
import t from "tap";
import type { DirectorySnapshot } from "../../src/domain/directory.ts";
import { crc32Combine, deflatePart, gzipParts } from "../../src/routes/vapp/gzip-parts.ts";
import { acceptsGzip, etagMatches, SEGMENT_USERS, userListEtag, userListRenderer } from "../../src/routes/vapp/user-list.ts";

const imageUrl = (key: string | null) => (key ? `https://cdn.test/${key}` : null);
const entry = (i: number) => ({ id: randomUUID(), username: `u${i}`, displayName: `User "${i}" ✓ \\ ${"é".repeat(i % 5)}`, imageKey: i % 2 ? `k${i}.png` : null });
const snapshot = (n: number, version = "1"): DirectorySnapshot => ({ version, entries: Array.from({ length: n }, (_, i) => entry(i)) });
/** A body given as buffers to send in order, as one buffer. */
const joined = (parts: Buffer[]) => Buffer.concat(parts);
const expected = (s: DirectorySnapshot, skip: string) =>
  s.entries.filter((e) => e.id !== skip).map((e) => ({ id: `USR-${e.id}`, name: e.username, display_name: e.displayName, image_url: imageUrl(e.imageKey) }));

t.test("every caller's list, identity and gzip, at every size and position", async (t) => {
  const S = SEGMENT_USERS;
  for (const n of [0, 1, 2, 3, S - 1, S, S + 1, 2 * S, 2 * S + 1, 3 * S + 7]) {
    const renderer = userListRenderer(imageUrl);
    const s = snapshot(n);
    const list = await renderer.listOf(s);
    t.equal(await renderer.listOf(s), list, "one rendering per snapshot");
    const positions = n <= 4 ? [...s.entries.keys()] : [0, 1, S - 1, S, S + 1, n - 2, n - 1].filter((i) => i < n);
    for (const i of positions) {
      const id = s.entries[i]!.id;
      const json = joined(list.json(id));
      t.same(JSON.parse(String(json)), expected(s, id), `${n} users, caller ${i}`);
      t.ok(zlib.gunzipSync(joined(list.gzip(id))).equals(json), `${n} users, caller ${i}: gzip decodes to the same bytes`);
    }
    const stranger = randomUUID();
    t.same(JSON.parse(String(joined(list.json(stranger)))), expected(s, stranger), `${n} users, an unlisted caller sees everyone`);
    t.ok(zlib.gunzipSync(joined(list.gzip(stranger))).equals(joined(list.json(stranger))));
    t.equal(list.bytes, joined(list.json(stranger)).length);
  }
});

t.test("a new version reuses the unchanged segments and renders the changed ones", async (t) => {
  const renderer = userListRenderer(imageUrl);
  const s1 = snapshot(3 * SEGMENT_USERS);
  await renderer.listOf(s1);
  const changed = [...s1.entries];
  changed[SEGMENT_USERS + 3] = { ...changed[SEGMENT_USERS + 3]!, displayName: "Renamed" };
  changed.push(entry(9999));
  const s2: DirectorySnapshot = { version: "2", entries: changed };
  const list = await renderer.listOf(s2);
  for (const i of [0, SEGMENT_USERS + 3, changed.length - 1]) {
    const id = changed[i]!.id;
    t.same(JSON.parse(String(zlib.gunzipSync(joined(list.gzip(id))))), expected(s2, id), `caller ${i}`);
  }
  t.same(JSON.parse(String(zlib.gunzipSync(joined(list.gzip("nobody"))))), expected(s2, "nobody"));
});

t.test("gzip parts and CRC-32 arithmetic", async (t) => {
  for (let i = 0; i < 100; i++) {
    const a = randomBytes(i * 37);
    const b = randomBytes((i * 7919) % 70_000);
    t.equal(crc32Combine(zlib.crc32(a), zlib.crc32(b), b.length), zlib.crc32(Buffer.concat([a, b])));
  }
  const texts = [Buffer.from("first "), Buffer.alloc(0), randomBytes(50_000), Buffer.from("last".repeat(10_000))];
  const parts = gzipParts(await Promise.all(texts.map(deflatePart)));
  t.ok(zlib.gunzipSync(joined(parts.whole())).equals(Buffer.concat(texts)));
  for (let k = 0; k < texts.length; k++) {
    const replaced = texts.map((x, i) => (i === k ? Buffer.from(`part ${k}`) : x));
    t.ok(zlib.gunzipSync(joined(parts.replacing(k, replaced[k]!))).equals(Buffer.concat(replaced)), `part ${k} replaced`);
  }
  t.equal(zlib.gunzipSync(joined(gzipParts([]).whole())).length, 0);
});

t.test("Accept-Encoding and If-None-Match", async (t) => {
  for (const [header, ok] of [
    [undefined, false], ["", false], ["gzip", true], ["GZIP", true], ["x-gzip", true], ["br, gzip;q=0.1", true], ["gzip;q=0", false],
    ["gzip; q=0.000", false], ["br", false], ["*", true], ["*;q=0", false], ["gzip;q=0, *", false], ["identity", false], ["deflate, *;q=0.5", true],
  ] as const) {
    t.equal(acceptsGzip(header), ok, `Accept-Encoding: ${header}`);
  }
  const etag = userListEtag("42", randomUUID(), "https://cdn.test/");
  t.match(etag, /^W\/"42-[A-Za-z0-9_-]{16}"$/);
  t.not(userListEtag("42", randomUUID(), "https://cdn.test/"), etag, "per caller");
  for (const [header, ok] of [
    [undefined, false], [etag, true], [etag.slice(2), true], [` "x" ,${etag} `, true], ["*", true], ['W/"41-x"', false], ["", false],
  ] as const) {
    t.equal(etagMatches(header, etag), ok, `If-None-Match: ${header}`);
  }
});
