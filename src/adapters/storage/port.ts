// The media storage port. Keys are flat, server-generated names (`<uuid>.<ext>`).
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
  delete(key: string): Promise<void>;
  /** Absolute URL at which anyone can fetch the object. */
  publicUrl(key: string): string;
}
