// The media storage port. Keys are flat, server-generated names (`<uuid>.<ext>`). A driver that
// cannot reach its store throws StorageUnavailable (the request answers 503 with Retry-After).
import type { Readable } from "node:stream";

export const IMAGE_TYPES = { png: "image/png", jpg: "image/jpeg", gif: "image/gif", webp: "image/webp" } as const;
export type ImageExt = keyof typeof IMAGE_TYPES;

const KEY_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.(png|jpg|gif|webp)$/;
export const isMediaKey = (key: string) => KEY_RE.test(key);
export const contentTypeForKey = (key: string) => IMAGE_TYPES[key.slice(key.lastIndexOf(".") + 1) as ImageExt];
/** Every stored object's caching: a key is new for each upload and never changes content. */
export const MEDIA_CACHE_CONTROL = "public, max-age=31536000, immutable";

export interface StoredObject {
  stream: Readable;
  size: number;
  contentType: string;
}

export interface Storage {
  /** Stores the whole object or nothing. */
  put(key: string, data: Buffer, contentType: string): Promise<void>;
  get(key: string): Promise<StoredObject | null>;
  /** Removes the object; a key that is not there is not an error. */
  delete(key: string): Promise<void>;
  /** Absolute URL at which anyone can fetch the object. */
  publicUrl(key: string): string;
}

/** The store cannot be reached or refused the operation; `cause` holds the driver's error. */
export class StorageUnavailable extends Error {
  override name = "StorageUnavailable";
}
