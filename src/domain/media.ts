// Images: recognised by their content (magic bytes), never by the declared type or file name.
import { fileTypeFromBuffer } from "file-type";
import { AppError } from "./errors.ts";
import { uuidv7 } from "./ids.ts";
import type { Clock } from "./clock.ts";
import type { Storage } from "../adapters/storage/port.ts";

const IMAGE_TYPES = { png: "image/png", jpg: "image/jpeg", gif: "image/gif", webp: "image/webp" } as const;
type ImageExt = keyof typeof IMAGE_TYPES;

const KEY_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.(png|jpg|gif|webp)$/;
export const isMediaKey = (key: string) => KEY_RE.test(key);
export const contentTypeForKey = (key: string) => IMAGE_TYPES[key.slice(key.lastIndexOf(".") + 1) as ImageExt];

/** The image's extension when the bytes are a PNG, JPEG, GIF or WebP; otherwise null. */
export async function detectImage(data: Buffer): Promise<ImageExt | null> {
  const t = await fileTypeFromBuffer(data);
  return t && t.ext in IMAGE_TYPES ? (t.ext as ImageExt) : null;
}

export interface MediaService {
  /** Checks and stores an image; returns its storage key. Throws validation_error for a non-image. */
  storeImage(data: Buffer, field: string): Promise<string>;
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
    remove: (key) => storage.delete(key),
    url: (key) => storage.publicUrl(key),
    urlOrNull: (key) => (key ? storage.publicUrl(key) : null),
  };
}
