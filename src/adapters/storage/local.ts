// Local storage driver: files under $DATA_DIR/media, served publicly at $PUBLIC_URL/media/<key>.
// A write goes to a temporary file first and is renamed into place, so a reader never sees half a
// file and a failed write leaves nothing behind.
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { contentTypeForKey, isMediaKey, type Storage } from "../../domain/ports/storage.ts";

export function localStorage(dataDir: string, publicUrl: string): Storage {
  const root = path.join(dataDir, "media");
  const file = (key: string) => {
    if (!isMediaKey(key)) throw new Error(`invalid media key ${key}`);
    return path.join(root, key);
  };
  return {
    async put(key, data) {
      await mkdir(root, { recursive: true });
      const tmp = path.join(root, `.${randomUUID()}.tmp`);
      try {
        await writeFile(tmp, data, { flag: "wx" });
        await rename(tmp, file(key));
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
    async get(key) {
      if (!isMediaKey(key)) return null;
      try {
        const s = await stat(file(key));
        return { stream: createReadStream(file(key)), size: s.size, contentType: contentTypeForKey(key) };
      } catch {
        return null;
      }
    },
    async delete(key) {
      await rm(file(key), { force: true });
    },
    publicUrl: (key) => `${publicUrl}/media/${key}`,
  };
}
