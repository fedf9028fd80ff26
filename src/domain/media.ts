// Images: recognised by their content (magic bytes), never by the declared type or file name.
import type { Metadata, Sharp, SharpOptions } from "sharp";
import { AppError } from "./errors.ts";
import { uuidv7 } from "./ids.ts";
import type { Clock } from "./ports/clock.ts";
import { IMAGE_TYPES, type ImageExt, type Storage } from "./ports/storage.ts";


/**
 * The image's extension when the bytes are a PNG, JPEG, GIF or WebP; otherwise null. An animated
 * PNG (file-type's "apng") is a PNG: it is stored and served as image/png.
 */
export async function detectImage(data: Buffer): Promise<ImageExt | null> {
  const { fileTypeFromBuffer } = await import("file-type");
  const t = await fileTypeFromBuffer(data);
  if (!t) return null;
  if (t.ext === "apng") return "png";
  return t.ext in IMAGE_TYPES ? (t.ext as ImageExt) : null;
}

export const AVATAR_SIZE = 512;
/**
 * The most pixels an upload may decode to, every frame of an animation counted: a larger image
 * (a decompression bomb: a few KiB that claim 20000×20000) is refused from its header, unread.
 */
export const MAX_INPUT_PIXELS = 40_000_000;
const NOT_AN_IMAGE = "must be a PNG, JPEG, GIF or WebP image";
const UNREADABLE = "must be a readable image of at most 40 megapixels";

/** sharp (libvips: a third of a second and 25 MB of memory) is loaded by the first upload, not at start. */
let sharpLoaded: Promise<typeof import("sharp").default> | undefined;
const loadSharp = () => (sharpLoaded ??= import("sharp").then((m) => m.default));

/** The decoder every upload goes through: truncated or corrupt data is an error, not a grey band. */
const decoding = (animated: boolean): SharpOptions => ({ animated, limitInputPixels: MAX_INPUT_PIXELS, failOn: "truncated" });
const SHARP_FORMAT = { png: "png", jpg: "jpeg", gif: "gif", webp: "webp" } as const;

/** Whether a WebP's first image data is lossless (a VP8L chunk, possibly inside an animation frame). */
function isLosslessWebp(data: Buffer): boolean {
  let at = 12; // "RIFF", size, "WEBP"
  while (at + 8 <= data.length) {
    const fourcc = data.toString("latin1", at, at + 4);
    if (fourcc === "VP8L") return true;
    if (fourcc === "VP8 ") return false;
    const size = data.readUInt32LE(at + 4);
    // An ANMF chunk holds a 16-byte frame header, then the frame's own chunks: step into it.
    at += fourcc === "ANMF" ? 8 + 16 : 8 + size + (size & 1);
  }
  return false;
}

/**
 * Whether a JPEG's last scan is followed by its end-of-image marker. A scan cut short normally
 * makes libjpeg warn (refused by `failOn`), but a cut scan followed by other bytes was once seen to
 * decode without a warning; an end marker can only follow a scan that ran to its end (inside
 * entropy-coded data a 0xFF byte is always stuffed or a restart marker).
 */
function isCompleteJpeg(d: Buffer): boolean {
  const lastScan = d.lastIndexOf(JPEG_SOS);
  return lastScan >= 0 && d.indexOf(JPEG_EOI, lastScan + 2) >= 0;
}
const JPEG_SOS = Buffer.from([0xff, 0xda]);
const JPEG_EOI = Buffer.from([0xff, 0xd9]);

/**
 * Whether a GIF's blocks run whole up to its trailer. libvips decodes a GIF cut short (a lost
 * frame, half a frame) without a word, whatever `failOn` says, so the structure is walked here:
 * header, colour tables, extensions and images with all their data sub-blocks, then 0x3B.
 */
function isCompleteGif(d: Buffer): boolean {
  const colourTable = (packed: number) => (packed & 0x80 ? 3 * 2 ** ((packed & 7) + 1) : 0);
  if (d.length < 13) return false;
  let at = 13 + colourTable(d[10]!);
  // Data sub-blocks (a length byte, that many bytes) up to and including the empty one.
  const subBlocks = () => {
    while (at < d.length) {
      const n = d[at++]!;
      if (n === 0) return true;
      at += n;
    }
    return false;
  };
  while (at < d.length) {
    const block = d[at++];
    if (block === 0x3b) return true; // the trailer; anything after it is never decoded
    if (block === 0x21) {
      at += 1; // the extension's label
      if (!subBlocks()) return false;
    } else if (block === 0x2c) {
      if (at + 9 > d.length) return false;
      at += 9 + colourTable(d[at + 8]!) + 1; // descriptor, local colour table, LZW code size
      if (!subBlocks()) return false;
    } else return false;
  }
  return false;
}

/**
 * An animation whose EXIF orientation is not 1 (only WebP carries EXIF among animated formats),
 * every frame turned upright; libvips rotates a multi-frame image only as a whole strip.
 */
async function orientFrames(data: Buffer, orientation: number, pages: number): Promise<Sharp> {
  const sharp = await loadSharp();
  const { data: strip, info } = await sharp(data, decoding(true)).raw().toBuffer({ resolveWithObject: true });
  const raw = { width: info.width, height: info.height / pages, channels: info.channels };
  const frameBytes = strip.length / pages;
  const upright = Buffer.allocUnsafe(strip.length);
  let size = { width: raw.width, height: raw.height };
  for (let i = 0; i < pages; i++) {
    // Tagged with the animation's orientation, then turned by sharp's own reading of it.
    const tagged = await sharp(strip.subarray(i * frameBytes, (i + 1) * frameBytes), { raw })
      .withMetadata({ orientation })
      .png({ compressionLevel: 0 })
      .toBuffer();
    const frame = await sharp(tagged).autoOrient().raw().toBuffer({ resolveWithObject: true });
    frame.data.copy(upright, i * frameBytes);
    size = frame.info;
  }
  return sharp(upright, { raw: { width: size.width, height: size.height * pages, channels: raw.channels, pageHeight: size.height } });
}

/**
 * Image work runs one job at a time in a process. Each job holds one of libuv's few worker threads
 * for up to seconds (a 40-megapixel animation), and argon2 and file access need those threads too:
 * a burst of uploads queues here instead of stalling logins and media serving.
 */
let imageWork: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(job: () => Promise<T>): Promise<T> {
  const run = imageWork.then(job, job);
  imageWork = run.catch(() => {});
  return run;
}

/**
 * Runs `encode` over the upload's decoder (every frame of an animation, or the first only when
 * `firstFrame`). The rules are the same either way: bytes that a decoder of the format their magic
 * bytes name does not read from end to end (truncated, corrupt, over MAX_INPUT_PIXELS in all
 * frames) are the field's validation error, and so is a file that the decoder reads as another format.
 */
function transcode(
  data: Buffer,
  ext: ImageExt,
  field: string,
  encode: (image: Sharp, meta: Metadata) => Promise<Buffer>,
  { firstFrame = false } = {},
): Promise<Buffer> {
  return oneAtATime(() => transcodeNow(data, ext, field, encode, firstFrame));
}

async function transcodeNow(
  data: Buffer,
  ext: ImageExt,
  field: string,
  encode: (image: Sharp, meta: Metadata) => Promise<Buffer>,
  firstFrame: boolean,
): Promise<Buffer> {
  const sharp = await loadSharp();
  const animated = ext === "gif" || ext === "webp";
  let meta: Metadata;
  try {
    // The header of every frame, their pixels counted together (the limit refuses it unread).
    meta = await sharp(data, decoding(animated)).metadata();
  } catch {
    throw new AppError("validation_error", { [field]: UNREADABLE });
  }
  if (meta.format !== SHARP_FORMAT[ext]) throw new AppError("validation_error", { [field]: NOT_AN_IMAGE });
  if (ext === "gif" && !isCompleteGif(data)) throw new AppError("validation_error", { [field]: UNREADABLE });
  if (ext === "jpg" && !isCompleteJpeg(data)) throw new AppError("validation_error", { [field]: UNREADABLE });
  try {
    return await encode(sharp(data, decoding(animated && !firstFrame)), meta);
  } catch {
    throw new AppError("validation_error", { [field]: UNREADABLE });
  }
}

/**
 * Decodes an image (at most MAX_INPUT_PIXELS, truncated data refused) and encodes it again in its
 * own format with its orientation applied and no metadata: EXIF (GPS included), XMP, IPTC and
 * comments are dropped, and an ICC profile is converted to sRGB and dropped. Animated GIF and WebP
 * keep every frame, their delays and loop count. An animated PNG keeps only its default image
 * (libvips reads no APNG frames). Throws validation_error as `transcode` says.
 */
export function reencodeImage(data: Buffer, ext: ImageExt, field: string): Promise<Buffer> {
  return transcode(data, ext, field, async (decoder, meta) => {
    const pages = meta.pages ?? 1;
    const orientation = meta.orientation ?? 1;
    const image = pages > 1 && orientation !== 1 ? await orientFrames(data, orientation, pages) : decoder.autoOrient();
    const animation = { loop: meta.loop, delay: meta.delay };
    switch (ext) {
      case "jpg":
        return image.jpeg({ quality: 90 }).toBuffer();
      case "png":
        return image.png().toBuffer();
      case "gif":
        return image.gif({ ...animation, keepDuplicateFrames: true, effort: 3 }).toBuffer();
      case "webp":
        // Low efforts: the default ones take many seconds for a large photo, for a few % of size.
        return image.webp({ ...animation, ...(isLosslessWebp(data) ? { lossless: true, effort: 1 } : { quality: 90, effort: 2 }) }).toBuffer();
    }
  });
}

export interface MediaService {
  /**
   * Checks an image, re-encodes it in its own format (orientation applied, metadata dropped,
   * animations kept: see reencodeImage) and stores it; returns its storage key. Throws
   * validation_error for a non-image, an undecodable or truncated one, or one over 40 megapixels.
   */
  storeImage(data: Buffer, field: string): Promise<string>;
  /**
   * Checks an image as storeImage does (an undecodable one or one over 40 megapixels in all its
   * frames is refused), re-encodes its first frame as a 512×512 WebP (orientation applied,
   * centre-cropped, no metadata: EXIF, GPS, ICC and comments are all dropped) and stores it;
   * returns its key.
   */
  storeAvatar(data: Buffer, field: string): Promise<string>;
  remove(key: string): Promise<void>;
  /** Public URL of a stored object. */
  url(key: string): string;
  /** Public URL of an optional picture, or null. */
  urlOrNull(key: string | null): string | null;
}

export function mediaService(storage: Storage, clock: Clock): MediaService {
  return {
    async storeImage(data, field) {
      const ext = await detectImage(data);
      if (!ext) throw new AppError("validation_error", { [field]: NOT_AN_IMAGE });
      const encoded = await reencodeImage(data, ext, field);
      const key = `${uuidv7(clock)}.${ext}`;
      await storage.put(key, encoded, IMAGE_TYPES[ext]);
      return key;
    },
    async storeAvatar(data, field) {
      const ext = await detectImage(data);
      if (!ext) throw new AppError("validation_error", { [field]: NOT_AN_IMAGE });
      const encoded = await transcode(
        data,
        ext,
        field,
        (image) => image.autoOrient().resize(AVATAR_SIZE, AVATAR_SIZE, { fit: "cover", position: "centre" }).webp({ quality: 85 }).toBuffer(),
        { firstFrame: true },
      );
      const key = `${uuidv7(clock)}.webp`;
      await storage.put(key, encoded, IMAGE_TYPES.webp);
      return key;
    },
    remove: (key) => storage.delete(key),
    url: (key) => storage.publicUrl(key),
    urlOrNull: (key) => (key ? storage.publicUrl(key) : null),
  };
}
