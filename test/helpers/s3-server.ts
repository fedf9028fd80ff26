// A local S3-compatible server for the tests: s3rver (the S3 REST protocol over files in a temporary
// directory) on a free loopback port, its bucket created. In front of it, what s3rver lacks:
// AbortMultipartUpload (s3rver answers 405; here the upload's parts are deleted, as S3 does), and
// failures on demand (`failWhen`), to see what an upload leaves behind when the store fails.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { HeadObjectCommand, ListObjectsV2Command, S3Client, type HeadObjectCommandOutput } from "@aws-sdk/client-s3";

/** s3rver's own key pair; the service finds it where the SDK looks (AWS_ACCESS_KEY_ID…). */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

export interface S3TestServer {
  /** http://127.0.0.1:<port>, for S3_ENDPOINT. */
  endpoint: string;
  bucket: string;
  /** Path-style public base of the bucket (s3rver serves unsigned GETs), for S3_PUBLIC_URL. */
  publicUrl: string;
  /** The environment of a service storing in this bucket (S3_PUBLIC_URL left to the caller). */
  env: Record<string, string>;
  client: S3Client;
  /** The keys of the bucket's objects, sorted. */
  keys(): Promise<string[]>;
  head(key: string): Promise<HeadObjectCommandOutput>;
  /** Multipart uploads neither completed nor aborted (their parts still stored). */
  pendingUploads(): string[];
  /** Requests for which this is true are answered 500 InternalError (null: none). */
  failWhen(predicate: ((req: http.IncomingMessage) => boolean) | null): void;
  /** Stops listening, every open connection dropped: an outage until `restart`. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const xmlError = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;

export async function startS3Server(bucket = "media"): Promise<S3TestServer> {
  const dir = mkdtempSync(path.join(tmpdir(), "vidivo-s3-"));
  const s3rver = new S3rver({ directory: dir, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  await s3rver.configureBuckets();
  const handle = s3rver.callback();
  // Where s3rver keeps a multipart upload's parts: <dir>/<bucket>/._S3rver_uploads/<uploadId>/.
  const uploadsDir = path.join(dir, bucket, "._S3rver_uploads");
  let failing: ((req: http.IncomingMessage) => boolean) | null = null;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://s3");
    const uploadId = url.searchParams.get("uploadId");
    if (failing?.(req)) {
      req.resume();
      res.writeHead(500, { "content-type": "application/xml" }).end(xmlError("InternalError", "injected failure"));
    } else if (req.method === "DELETE" && uploadId) {
      // AbortMultipartUpload: the parts go, the key was never written.
      rmSync(path.join(uploadsDir, path.basename(uploadId)), { recursive: true, force: true });
      res.writeHead(204).end();
    } else {
      handle(req, res);
    }
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  const port = await listen(0);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: S3RVER_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  return {
    endpoint,
    bucket,
    publicUrl: `${endpoint}/${bucket}`,
    env: { STORAGE: "s3", S3_BUCKET: bucket, S3_ENDPOINT: endpoint },
    client,
    async keys() {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (listed.Contents ?? []).map((o) => o.Key!).sort();
    },
    head: (key) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
    pendingUploads() {
      try {
        return readdirSync(uploadsDir);
      } catch {
        return [];
      }
    },
    failWhen(predicate) {
      failing = predicate;
    },
    stop,
    restart: () => listen(port).then(() => {}),
    async close() {
      client.destroy();
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
