// Real image bytes for upload tests, and multipart bodies built by the platform's FormData.
import { deflateSync, crc32 } from "node:zlib";
import sharp from "sharp";

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

// --- Real-world uploads for the re-encoding tests, made with sharp or by hand -----------------

/** Written into a photo's EXIF (IFD0 and the GPS IFD) and XMP: the served file must not hold it. */
export const PRIVATE_MARK = "home-48.8583N-2.2944E";

/**
 * A camera-like photo (JPEG unless told): left half red, right half blue, EXIF with a GPS IFD
 * (latitude, longitude, and PRIVATE_MARK as GPSMapDatum), an EXIF Orientation, XMP and a Display
 * P3 ICC profile.
 */
export async function gpsPhoto({ width = 90, height = 60, orientation = 1, format = "jpeg" as "jpeg" | "png" | "webp" } = {}): Promise<Buffer> {
  const half = Math.floor(width / 2);
  const blue = await sharp({ create: { width: width - half, height, channels: 3, background: { r: 0, g: 0, b: 255 } } }).png().toBuffer();
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 0, b: 0 } } })
    .composite([{ input: blue, left: half, top: 0 }])
    .toFormat(format, format === "png" ? {} : { quality: 95 })
    .withIccProfile("p3")
    .withMetadata({ orientation })
    .withExifMerge({
      IFD0: { Copyright: PRIVATE_MARK, Make: "PhoneCo" },
      IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 2988/100", GPSLongitudeRef: "E", GPSLongitude: "2/1 17/1 3984/100", GPSMapDatum: PRIVATE_MARK },
    })
    .withXmp(
      `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
        `<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description>${PRIVATE_MARK}</dc:description></rdf:Description>` +
        `</rdf:RDF></x:xmpmeta>`,
    )
    .toBuffer();
}

/** The tag numbers of an EXIF block's first IFD (as sharp's metadata().exif gives it). 0x8825 points to GPS data. */
export function exifIfd0Tags(exif: Buffer): number[] {
  const tiff = exif.subarray(exif.subarray(0, 6).toString("latin1") === "Exif\0\0" ? 6 : 0);
  const le = tiff.toString("latin1", 0, 2) === "II";
  const u16 = (at: number) => (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const ifd = le ? tiff.readUInt32LE(4) : tiff.readUInt32BE(4);
  return Array.from({ length: u16(ifd) }, (_, i) => u16(ifd + 2 + 12 * i));
}
export const GPS_IFD_TAG = 0x8825;

/** An animation of solid frames (one per colour), `delay` ms each, looping `loop` times (0: forever). */
export function animation(format: "gif" | "webp", colours: string[], { width = 60, height = 40, delay = 100, loop = 0 } = {}): Promise<Buffer> {
  const frames = colours.map((background) => sharp({ create: { width, height, channels: 3, background } }).png().toBuffer());
  return Promise.all(frames).then((f) => {
    const joined = sharp(f, { join: { animated: true } });
    const options = { delay: colours.map(() => delay), loop };
    return format === "gif" ? joined.gif({ ...options, keepDuplicateFrames: true }).toBuffer() : joined.webp({ ...options, lossless: true }).toBuffer();
  });
}

/**
 * A PNG decompression bomb: a valid 1-bit greyscale image of `width`×`height` black pixels whose
 * file is tiny (about 50 KiB for 20000×20000, which decodes to 400 megapixels).
 */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale
  const raw = Buffer.alloc((1 + Math.ceil(width / 8)) * height); // filter byte 0 and zero bits on every row
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

function riff(fourcc: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, "latin1");
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data, Buffer.alloc(data.length & 1)]);
}
const u24le = (v: number) => Buffer.from([v & 0xff, (v >> 8) & 0xff, v >> 16]);

/**
 * An animated WebP decompression bomb: a `width`×`height` canvas and `frames` frames of one
 * pixel each (a few hundred bytes). Every frame decodes to the whole canvas, so the file decodes to
 * width × height × frames pixels, over 40 megapixels in total for 3000×3000×5 though each frame is 9.
 */
export async function webpCanvasBomb(width: number, height: number, frames: number): Promise<Buffer> {
  const pixel = await sharp({ create: { width: 1, height: 1, channels: 4, background: "#c33" } }).webp({ lossless: true }).toBuffer();
  const vp8l = pixel.subarray(12); // the VP8L chunk of a simple-format WebP
  const frame = riff("ANMF", Buffer.concat([u24le(0), u24le(0), u24le(0), u24le(0), u24le(100), Buffer.from([0]), vp8l]));
  const body = Buffer.concat([
    Buffer.from("WEBP", "latin1"),
    riff("VP8X", Buffer.concat([Buffer.from([0x12, 0, 0, 0]), u24le(width - 1), u24le(height - 1)])), // alpha + animation
    riff("ANIM", Buffer.alloc(6)), // transparent background, loop forever
    ...Array.from({ length: frames }, () => frame),
  ]);
  return riff("RIFF", body).subarray(0, 8 + body.length);
}

/**
 * Broken uploads that still pass a magic-byte check: every image in `images` cut at `cuts` points
 * spread over its length, each with and without text appended after the cut.
 */
export function truncations(images: Record<string, Buffer>, cuts = 12): { label: string; data: Buffer }[] {
  const tail = Buffer.from("\ntrailing text that is not image data\n");
  return Object.entries(images).flatMap(([name, image]) =>
    Array.from({ length: cuts }, (_, i) => Math.max(1, Math.floor((image.length * (i + 1)) / (cuts + 1)))).flatMap((at) => [
      { label: `${name} cut at ${at}/${image.length}`, data: image.subarray(0, at) },
      { label: `${name} cut at ${at}/${image.length} + text`, data: Buffer.concat([image.subarray(0, at), tail]) },
    ]),
  );
}
