// The media storage port. Keys are flat, server-generated names (`<uuid>.<ext>`). A driver that
// cannot reach its store throws StorageUnavailable (the request answers 503 with Retry-After).
import type { Readable } from "node:stream";

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
