// Real image bytes for upload tests, and multipart bodies built by the platform's FormData.
import { deflateSync, crc32 } from "node:zlib";

function chunk(type: string, data: Buffer) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid RGB PNG of the given size (solid colour); `padTo` appends an ancillary chunk to reach a size. */
export function png(width = 2, height = 2, padTo = 0): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x80)]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw))];
  const size = parts.reduce((n, b) => n + b.length, 0) + 12;
  if (padTo > size + 12) parts.push(chunk("teXt", Buffer.alloc(padTo - size - 12, 0x61)));
  parts.push(chunk("IEND", Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/**
 * A valid animated PNG (APNG) of two solid-colour frames: IHDR, acTL, fcTL + IDAT (frame 0, also
 * the default image), fcTL + fdAT (frame 1), IEND, every chunk with its CRC.
 */
export function apng(width = 2, height = 2): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const frame = (shade: number) => {
    const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, shade)]);
    return deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  };
  const u32 = (...values: number[]) => {
    const b = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => b.writeUInt32BE(v, i * 4));
    return b;
  };
  const fctl = (sequence: number) => {
    const b = Buffer.alloc(26);
    b.writeUInt32BE(sequence, 0);
    b.writeUInt32BE(width, 4);
    b.writeUInt32BE(height, 8);
    // x and y offsets 0; delay 1/10 s; dispose_op none; blend_op source
    b.writeUInt16BE(1, 20);
    b.writeUInt16BE(10, 22);
    return b;
  };
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("acTL", u32(2, 0)), // 2 frames, loop forever
    chunk("fcTL", fctl(0)),
    chunk("IDAT", frame(0x80)),
    chunk("fcTL", fctl(1)),
    chunk("fdAT", Buffer.concat([u32(2), frame(0x20)])),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** The classic 1×1 transparent GIF. */
export const gif = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

export interface Part {
  name: string;
  data: Buffer | string;
  filename?: string;
  type?: string;
}

/** A multipart/form-data body and its Content-Type, as a browser would send it. */
export async function multipart(parts: Part[]): Promise<{ payload: Buffer; headers: { "content-type": string } }> {
  const form = new FormData();
  for (const p of parts) {
    if (p.filename !== undefined) form.append(p.name, new Blob([p.data], { type: p.type ?? "application/octet-stream" }), p.filename);
    else form.append(p.name, String(p.data));
  }
  const res = new Response(form);
  return { payload: Buffer.from(await res.arrayBuffer()), headers: { "content-type": res.headers.get("content-type")! } };
}
