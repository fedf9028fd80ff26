// A gzip body (RFC 1952) assembled from parts deflated separately, so that a large response that
// differs per request in one small place is compressed once: each part is a raw deflate stream
// that ends on a byte boundary without a final block (a sync flush) and refers to no byte outside
// itself, so parts can be laid end to end, and only the part that differs is deflated per request.
// The trailer's CRC-32 of the whole is carried across the unchanged parts arithmetically.
import { promisify } from "node:util";
import zlib from "node:zlib";

export interface DeflatedPart {
  /** Raw deflate blocks, none final, ending on a byte boundary. */
  deflated: Buffer;
  /** CRC-32 of the uncompressed bytes. */
  crc: number;
  /** Length of the uncompressed bytes. */
  length: number;
}

const deflateRaw = promisify(zlib.deflateRaw);
const OPTIONS: zlib.ZlibOptions = { level: 6, finishFlush: zlib.constants.Z_SYNC_FLUSH };
// The part deflated per request is a small share of the body: the fastest level takes half of
// level 6's time there and costs a few bytes.
const PER_REQUEST_OPTIONS: zlib.ZlibOptions = { ...OPTIONS, level: 1 };

/** Deflates a part on the thread pool (parts made once and reused). */
export async function deflatePart(bytes: Buffer): Promise<DeflatedPart> {
  return { deflated: await deflateRaw(bytes, OPTIONS), crc: zlib.crc32(bytes), length: bytes.length };
}

// Header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
// A final fixed-Huffman block holding nothing but its end code.
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** Bodies as buffers to send one after the other (the large ones are shared, never copied). */
export interface GzipParts {
  /** The gzip body of every part's bytes, in order. */
  whole(): Buffer[];
  /** The same with part `k`'s bytes replaced by `bytes` (which are deflated now: keep them small). */
  replacing(k: number, bytes: Buffer): Buffer[];
}

export function gzipParts(parts: readonly DeflatedPart[]): GzipParts {
  // CRC and length of the parts before k (prefix[k]) and after k (suffix[k]).
  const prefix: { crc: number; length: number }[] = [{ crc: 0, length: 0 }];
  for (const p of parts) {
    const last = prefix[prefix.length - 1]!;
    prefix.push({ crc: crc32Combine(last.crc, p.crc, p.length), length: last.length + p.length });
  }
  const suffix: { crc: number; length: number }[] = Array.from({ length: parts.length }, () => ({ crc: 0, length: 0 }));
  for (let k = parts.length - 2; k >= 0; k--) {
    const next = parts[k + 1]!;
    const after = suffix[k + 1]!;
    suffix[k] = { crc: crc32Combine(next.crc, after.crc, after.length), length: next.length + after.length };
  }
  // Every part's deflated bytes in one buffer, part k at [start[k], start[k + 1]).
  const deflated = Buffer.concat(parts.map((p) => p.deflated));
  const start = [0];
  for (const p of parts) start.push(start[start.length - 1]! + p.deflated.length);
  const end = (crc: number, length: number) => {
    const tail = Buffer.alloc(FINAL_BLOCK.length + 8);
    FINAL_BLOCK.copy(tail);
    tail.writeUInt32LE(crc, FINAL_BLOCK.length);
    tail.writeUInt32LE(length % 2 ** 32, FINAL_BLOCK.length + 4);
    return tail;
  };
  const all = prefix[parts.length]!;
  return {
    whole: () => [HEADER, deflated, end(all.crc, all.length)],
    replacing(k, bytes) {
      const { crc: before, length: beforeLength } = prefix[k]!;
      const after = suffix[k]!;
      const crc = crc32Combine(zlib.crc32(bytes, before), after.crc, after.length);
      return [
        HEADER,
        deflated.subarray(0, start[k]),
        zlib.deflateRawSync(bytes, PER_REQUEST_OPTIONS),
        deflated.subarray(start[k + 1]),
        end(crc, beforeLength + bytes.length + after.length),
      ];
    },
  };
}

// CRC-32 of a concatenation from the CRCs of its halves (zlib's crc32_combine): the first half's
// CRC is carried over the second half's length by multiplying it by x^(8·length) modulo the
// CRC-32 polynomial, in the bit-reflected representation CRC values use.
const POLY = 0xedb88320;

function multModP(a: number, b: number): number {
  let product = 0;
  for (let m = 0x80000000; m !== 0; m >>>= 1) {
    if (a & m) product ^= b;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0 … 31 (x^(2^32) is x again). */
const X_POW_2K: number[] = [];
for (let k = 0, p = 0x40000000; k < 32; k++, p = multModP(p, p)) X_POW_2K.push(p);

export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  // x^(8·lengthB): the product of x^(2^k) over the set bits of 8·lengthB.
  let power = 0x80000000; // x^0
  for (let n = lengthB, k = 3; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) power = multModP(X_POW_2K[k % 32]!, power);
  }
  return (multModP(power, crcA) ^ crcB) >>> 0;
}
