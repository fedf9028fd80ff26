// Images: recognised by their content (magic bytes), never by the declared type or file name.
import { fileTypeFromBuffer } from "file-type";
import sharp from "sharp";
import { AppError } from "./errors.ts";
import { uuidv7 } from "./ids.ts";
import type { Clock } from "./clock.ts";
import type { Storage } from "../adapters/storage/port.ts";

const IMAGE_TYPES = { png: "image/png", jpg: "image/jpeg", gif: "image/gif", webp: "image/webp" } as const;
type ImageExt = keyof typeof IMAGE_TYPES;

const KEY_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.(png|jpg|gif|webp)$/;
export const isMediaKey = (key: string) => KEY_RE.test(key);
export const contentTypeForKey = (key: string) => IMAGE_TYPES[key.slice(key.lastIndexOf(".") + 1) as ImageExt];

/**
 * The image's extension when the bytes are a PNG, JPEG, GIF or WebP; otherwise null. An animated
 * PNG (file-type's "apng") is a PNG: it is stored and served as image/png.
 */
export async function detectImage(data: Buffer): Promise<ImageExt | null> {
  const t = await fileTypeFromBuffer(data);
  if (!t) return null;
  if (t.ext === "apng") return "png";
  return t.ext in IMAGE_TYPES ? (t.ext as ImageExt) : null;
}

export const AVATAR_SIZE = 512;
const AVATAR_MAX_INPUT_PIXELS = 40_000_000;

export interface MediaService {
  /** Checks and stores an image; returns its storage key. Throws validation_error for a non-image. */
  storeImage(data: Buffer, field: string): Promise<string>;
  /**
   * Checks an image, re-encodes it as a 512×512 WebP (orientation applied, centre-cropped, no
   * metadata: EXIF, GPS, ICC and comments are all dropped) and stores it; returns its key.
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
      if (!ext) throw new AppError("validation_error", { [field]: "must be a PNG, JPEG, GIF or WebP image" });
      const key = `${uuidv7(clock)}.${ext}`;
      await storage.put(key, data, IMAGE_TYPES[ext]);
      return key;
    },
    async storeAvatar(data, field) {
      if (!(await detectImage(data))) throw new AppError("validation_error", { [field]: "must be a PNG, JPEG, GIF or WebP image" });
      let encoded: Buffer;
      try {
        encoded = await sharp(data, { limitInputPixels: AVATAR_MAX_INPUT_PIXELS, animated: false })
          .rotate()
          .resize(AVATAR_SIZE, AVATAR_SIZE, { fit: "cover", position: "centre" })
          .webp({ quality: 85 })
          .toBuffer();
      } catch {
        throw new AppError("validation_error", { [field]: "must be a readable image of at most 40 megapixels" });
      }
      const key = `${uuidv7(clock)}.webp`;
      await storage.put(key, encoded, IMAGE_TYPES.webp);
      return key;
    },
    remove: (key) => storage.delete(key),
    url: (key) => storage.publicUrl(key),
    urlOrNull: (key) => (key ? storage.publicUrl(key) : null),
  };
}
