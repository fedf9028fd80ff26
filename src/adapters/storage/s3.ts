// S3-compatible storage driver (AWS S3, Cloudflare R2, MinIO…): objects under their flat keys in one
// bucket, each with its Content-Type and the immutable Cache-Control that /media answers with.
// Public at S3_PUBLIC_URL/<key> when that is set (the bucket's public base or a CDN); otherwise at
// this service's /media/<key>, which streams them from the bucket. Credentials come from the SDK's
// default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, an instance or task role).
//
// An upload goes through lib-storage's Upload: one PutObject up to 5 MiB, a multipart upload above
// that, aborted on failure (its parts deleted), so a failed upload never leaves an object or parts.
// Its body is the re-encoded image, a Buffer, not sharp's output stream: an image is decoded to its
// end and found whole before the store is asked for anything (a truncated one is a validation
// error, not an aborted upload), and the one-at-a-time image work is not held during network I/O.
//
// The SDK (a second of loading, tens of MB) is imported at the first operation, not at start: a
// service that keeps its images on local disk never loads it.
import type { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import type { S3Config } from "../../config.ts";
import { MEDIA_CACHE_CONTROL, StorageUnavailable, contentTypeForKey, isMediaKey, type Storage } from "../../domain/ports/storage.ts";

type Sdk = typeof import("@aws-sdk/client-s3") & Pick<typeof import("@aws-sdk/lib-storage"), "Upload">;
let sdk: Promise<Sdk> | undefined;
const loadSdk = () =>
  (sdk ??= Promise.all([import("@aws-sdk/client-s3"), import("@aws-sdk/lib-storage")]).then(([s3, storage]) => ({ ...s3, Upload: storage.Upload })));

export async function s3Client(config: S3Config): Promise<S3Client> {
  const { S3Client } = await loadSdk();
  return new S3Client({
    region: config.region,
    // An S3-compatible server is addressed path-style (http://host/bucket/key): no DNS per bucket.
    ...(config.endpoint ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
    // The SDK's default CRC checksum headers (2025) are refused by many S3-compatible servers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // A store that stops answering fails the request instead of holding it open.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
}

const unavailable = (action: string, key: string, cause: unknown) =>
  new StorageUnavailable(`S3 ${action} of ${key} failed`, { cause });
const isNoSuchKey = (err: unknown) => (err as { name?: string } | null)?.name === "NoSuchKey";

/** `publicUrl`: this service's public base, for /media/<key> when S3_PUBLIC_URL is unset. */
export function s3Storage(config: S3Config, publicUrl: string, given?: S3Client): Storage {
  const Bucket = config.bucket;
  let made: Promise<S3Client> | undefined;
  const client = () => (given ? Promise.resolve(given) : (made ??= s3Client(config)));
  return {
    async put(key, data, contentType) {
      const { Upload } = await loadSdk();
      // leavePartsOnError is false (the default): a failed multipart upload is aborted.
      const upload = new Upload({
        client: await client(),
        params: { Bucket, Key: key, Body: data, ContentType: contentType, CacheControl: MEDIA_CACHE_CONTROL },
      });
      try {
        await upload.done();
      } catch (err) {
        throw unavailable("upload", key, err);
      }
    },
    async get(key) {
      if (!isMediaKey(key)) return null;
      const { GetObjectCommand } = await loadSdk();
      try {
        const object = await (await client()).send(new GetObjectCommand({ Bucket, Key: key }));
        return { stream: object.Body as Readable, size: object.ContentLength ?? 0, contentType: contentTypeForKey(key) };
      } catch (err) {
        if (isNoSuchKey(err)) return null;
        throw unavailable("read", key, err);
      }
    },
    async delete(key) {
      const { DeleteObjectCommand } = await loadSdk();
      try {
        await (await client()).send(new DeleteObjectCommand({ Bucket, Key: key }));
      } catch (err) {
        // S3 answers 204 for a missing key; some compatible servers answer NoSuchKey.
        if (!isNoSuchKey(err)) throw unavailable("delete", key, err);
      }
    },
    publicUrl: (key) => (config.publicUrl ? `${config.publicUrl}/${key}` : `${publicUrl}/media/${key}`),
  };
}
