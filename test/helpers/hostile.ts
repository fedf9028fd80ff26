// Generators of hostile input for the property tests (no input may end the process):
// names that reach Object.prototype members, JSON texts of any shape (with `__proto__` keys as
// own keys, duplicate keys, deep nesting), broken JSON, invalid UTF-8.
import fc from "fast-check";

/** Names an object lookup could reach through the prototype chain. */
export const PROTOTYPE_NAMES = [
  ...new Set([
    ...Object.getOwnPropertyNames(Object.prototype),
    ...Object.getOwnPropertyNames(Function.prototype),
    ...Object.getOwnPropertyNames(Array.prototype),
    ...Object.getOwnPropertyNames(String.prototype),
    "prototype",
    "then",
    "toJSON",
  ]),
].filter((n) => typeof n === "string");

/** The seed of every property test: FC_SEED=<n> replays a reported failure. */
export const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20261129;

/** Object keys an attacker would try, plus any string. */
export const hostileKey = (known: string[] = []) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...known, "__proto__", "constructor", "prototype", ...PROTOTYPE_NAMES) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constantFrom("", " ", "\u0000", "type ", "TYPE", "$where", "$gt", "a.b", "a[0]", "__proto__.x") },
  );

/** Scalars rendered as JSON text, including forms JSON.parse turns into surprising numbers. */
export const jsonScalarText = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })).map((v) => JSON.stringify(v)) },
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 40 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.constantFrom("1e400", "-1e400", "-0", "1.0", "0.5e1", "123456789012345678901234567890", "1E-400", "9007199254740993", '"\\u0000"', '"\\ud800"', '"\\udc00x"') },
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES).map((n) => JSON.stringify(n)) },
);

/**
 * JSON text of any shape. Objects are written as text, so a `__proto__` key is an own key of
 * what JSON.parse returns (as it would be for a client's frame or body) and keys may repeat.
 */
export function jsonText(keys: string[] = [], maxDepth = 4): fc.Arbitrary<string> {
  const { node } = fc.letrec<{ node: string; arr: string; obj: string }>((tie) => ({
    node: fc.oneof({ depthSize: "small", maxDepth }, jsonScalarText, tie("arr"), tie("obj")),
    arr: fc.array(tie("node"), { maxLength: 5 }).map((items) => `[${items.join(",")}]`),
    obj: fc
      .array(fc.tuple(hostileKey(keys), tie("node")), { maxLength: 6 })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`),
  }));
  return node;
}

/** An object as JSON text: the given entries (already JSON text values) mixed with hostile ones. */
export function objectText(entries: fc.Arbitrary<[string, string][]>, keys: string[] = []): fc.Arbitrary<string> {
  return fc
    .tuple(entries, fc.array(fc.tuple(hostileKey(keys), jsonText(keys, 3)), { maxLength: 4 }), fc.boolean(), fc.nat())
    .map(([own, extra, extraFirst, spaces]) => {
      const all = extraFirst ? [...extra, ...own] : [...own, ...extra];
      const gap = " ".repeat(spaces % 3);
      return `{${all.map(([k, v]) => `${gap}${JSON.stringify(k)}${gap}:${gap}${v}`).join(",")}}`;
    });
}

/** Text that is not JSON, or almost JSON. */
export const brokenJsonText = (base: fc.Arbitrary<string>) =>
  fc.oneof(
    fc.tuple(base, fc.nat()).map(([s, n]) => s.slice(0, s.length > 1 ? n % (s.length - 1) : 0)), // truncated
    fc.tuple(base, fc.constantFrom("}", "]", ",", "x", "\u0000", "{", '"', "//", "\n}")).map(([s, tail]) => s + tail),
    fc.tuple(base, fc.constantFrom("'", "undefined", "NaN", "Infinity", "0x10", "+1", ".5", "{a:1}", "[1,]", '{"a":1,}', "\ufeff{}", "tru", "nul")).map(([s, bad]) => (s.length % 2 ? bad : `{"type":${bad}}`)),
    fc.string({ unit: "binary", maxLength: 80 }),
    fc.constantFrom("", " ", "\n", "null", "true", "0", '""', "[]", "{}", "{{}}", "[[[", "]]]", "\ud800", "\u0000"),
  );

/** Nesting far deeper than any schema (and than a recursive walk's stack), within `maxBytes`. */
export const deepText = (maxBytes: number) => {
  const kinds = {
    arr: ["[", "]", ""],
    obj: ['{"a":', "}", "1"],
    proto: ['{"__proto__":', "}", "{}"],
    mixed: ['[{"constructor":', "}]", "null"],
  } as const;
  return fc.constantFrom(...(Object.keys(kinds) as (keyof typeof kinds)[])).chain((kind) => {
    const [open, close, inner] = kinds[kind];
    const most = Math.floor((maxBytes - inner.length) / (open.length + close.length));
    return fc.integer({ min: 1, max: most }).map((depth) => open.repeat(depth) + inner + close.repeat(depth));
  });
};

/** Byte sequences that are not UTF-8 (RFC 3629): stray continuation bytes, overlong forms, surrogates, truncation. */
export const invalidUtf8 = fc
  .tuple(
    fc.constantFrom(
      [0xff],
      [0xfe],
      [0x80],
      [0xbf],
      [0xc0, 0xaf],
      [0xc1, 0xbf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xc3, 0x28],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98],
    ),
    fc.string({ maxLength: 30 }),
    fc.string({ maxLength: 30 }),
  )
  .map(([bad, before, after]) => Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]));

export const isValidUtf8 = (bytes: Buffer) => {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
};
