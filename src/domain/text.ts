/**
 * Text that PostgreSQL cannot store in a `text` column: a NUL character
 * (U+0000) or an unpaired UTF-16 surrogate (which has no UTF-8 encoding).
 * Domain-neutral; used by request validation on every API surface so such
 * strings are refused as invalid input instead of failing in the database.
 */
// eslint-disable-next-line no-control-regex -- a NUL is what it looks for
const INVALID_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` contains a NUL character or a lone surrogate. */
export function hasInvalidText(s: string): boolean {
  return INVALID_TEXT.test(s);
}
