// STORAGE=s3 against a local S3-compatible server (test/helpers/s3-server.ts): pictures land in the
// bucket with their type and caching, are public at S3_PUBLIC_URL or through /media, replace the
// previous one, and a failing store answers 503 and leaves nothing behind.
import { GetObjectCommand } from "@aws-sdk/client-s3";
import sharp from "sharp";
import t from "tap";
import type { FastifyInstance } from "fastify";
import { s3Storage } from "../src/adapters/storage/s3.ts";
import { StorageUnavailable } from "../src/domain/ports/storage.ts";
import { MEDIA_CACHE_CONTROL } from "../src/domain/ports/storage.ts";
import { captureLogs, testApp } from "./helpers/app.ts";
import { gif, gpsPhoto, multipart, png } from "./helpers/images.ts";
import { S3RVER_CREDENTIALS, startS3Server, type S3TestServer } from "./helpers/s3-server.ts";
import { bearer, errorBody, json, PASSWORD, register } from "./helpers/v1.ts";

// The service finds its credentials where the SDK looks for them.
Object.assign(process.env, S3RVER_CREDENTIALS);

async function s3Server(t: { teardown(fn: () => unknown): void }): Promise<S3TestServer> {
  const s3 = await startS3Server();
  t.teardown(() => s3.close());
  return s3;
}

/** One account on both surfaces: a v1 session and a V-app token. */
async function account(app: FastifyInstance, name: string) {
  const v1 = await register(app, `${name}@example.com`);
  await app.inject({ method: "PATCH", url: "/v1/users/me", headers: { ...json, ...bearer(v1.access_token) }, payload: JSON.stringify({ username: name }) });
  const vapp = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name, password: PASSWORD } });
  return { v1: bearer(v1.access_token), vapp: bearer(vapp.json().token) };
}

async function upload(app: FastifyInstance, method: "POST" | "PUT", url: string, auth: object, field: string, data: Buffer) {
  const body = await multipart([{ name: field, data, filename: "upload" }]);
  return app.inject({ method, url, payload: body.payload, headers: { ...body.headers, ...auth } });
}

const objectBytes = async (s3: S3TestServer, key: string) => {
  const o = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await o.Body!.transformToByteArray());
};

t.test("pictures land in the bucket, public at S3_PUBLIC_URL; a replaced one is deleted", async (t) => {
  const s3 = await s3Server(t);
  const { app } = await testApp(t, { env: { ...s3.env, S3_PUBLIC_URL: `${s3.publicUrl}/` } });
  const cleo = await account(app, "cleo");
  const keyOf = (url: string) => {
    t.match(url, new RegExp(`^${s3.publicUrl}/[0-9a-f-]{36}\\.(png|gif|webp)$`), "the bucket's public URL");
    return url.slice(s3.publicUrl.length + 1);
  };

  // V-app: the picture is a PNG in the bucket, with its type and immutable caching.
  const image = png(3, 3);
  const res = await upload(app, "POST", "/users/image", cleo.vapp, "image", image);
  t.equal(res.statusCode, 200);
  const first = keyOf(res.json().image_url);
  t.same(await s3.keys(), [first]);
  t.match(await s3.head(first), { ContentType: "image/png", CacheControl: MEDIA_CACHE_CONTROL });
  const fetched = await fetch(res.json().image_url);
  t.equal(fetched.status, 200, "fetched from the S3 server itself");
  const served = Buffer.from(await fetched.arrayBuffer());
  t.same(await sharp(served).raw().toBuffer(), await sharp(image).raw().toBuffer(), "the picture's pixels");

  // v1: the avatar (a 512×512 WebP) replaces it, and the previous object is deleted.
  const avatar = await upload(app, "PUT", "/v1/users/me/avatar", cleo.v1, "avatar", await gpsPhoto());
  t.equal(avatar.statusCode, 200);
  const second = keyOf(avatar.json().avatar_url);
  t.same(await s3.keys(), [second], "the replaced picture is gone from the bucket");
  t.match(await s3.head(second), { ContentType: "image/webp", CacheControl: MEDIA_CACHE_CONTROL });
  const bytes = Buffer.from(await (await fetch(avatar.json().avatar_url)).arrayBuffer());
  t.same(bytes, await objectBytes(s3, second));
  t.match(await sharp(bytes).metadata(), { format: "webp", width: 512, height: 512 });
  const login = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "cleo", password: PASSWORD } });
  t.equal(login.json().user.image_url, avatar.json().avatar_url, "the V-app hands out the same URL");

  // V-app /image: stored, not attached to the account.
  const message = await upload(app, "POST", "/image", cleo.vapp, "image", gif);
  t.equal(message.statusCode, 200);
  const third = keyOf(message.json().image_url);
  t.same(await s3.keys(), [second, third].sort());
  t.match(await s3.head(third), { ContentType: "image/gif", CacheControl: MEDIA_CACHE_CONTROL });
  const me = await app.inject({ method: "GET", url: "/v1/users/me", headers: cleo.v1 });
  t.equal(me.json().avatar_url, avatar.json().avatar_url);
  t.same(s3.pendingUploads(), []);
});

t.test("without S3_PUBLIC_URL, /media serves the objects from the bucket", async (t) => {
  const s3 = await s3Server(t);
  const { app } = await testApp(t, { env: s3.env });
  const ann = await account(app, "ann");
  const res = await upload(app, "POST", "/users/image", ann.vapp, "image", png(5, 4));
  t.equal(res.statusCode, 200);
  t.match(res.json().image_url, /^http:\/\/media\.test\/media\/[0-9a-f-]{36}\.png$/, "under the service's PUBLIC_URL");
  const key = new URL(res.json().image_url).pathname.slice("/media/".length);
  t.same(await s3.keys(), [key]);

  const media = await app.inject({ method: "GET", url: `/media/${key}` });
  t.equal(media.statusCode, 200);
  t.equal(media.headers["content-type"], "image/png");
  t.equal(media.headers["cache-control"], MEDIA_CACHE_CONTROL);
  const stored = await objectBytes(s3, key);
  t.equal(Number(media.headers["content-length"]), stored.length);
  t.same(media.rawPayload, stored, "the object's bytes");

  const missing = await app.inject({ method: "GET", url: `/media/${key.replace(/^.{8}/, "00000000")}` });
  t.equal(missing.statusCode, 404);
});

t.test("a failing store: 503, nothing stored, the picture unchanged", async (t) => {
  const s3 = await s3Server(t);
  const { lines, logStream } = captureLogs();
  const { app } = await testApp(t, { env: { ...s3.env, S3_PUBLIC_URL: s3.publicUrl, LOG_LEVEL: "warn" }, overrides: { logStream } });
  const dan = await account(app, "dan");
  const before = await upload(app, "PUT", "/v1/users/me/avatar", dan.v1, "avatar", png(8, 8));
  t.equal(before.statusCode, 200);
  const kept = await s3.keys();
  const unchanged = async (label: string) => {
    t.same(await s3.keys(), kept, `${label}: no new object`);
    t.same(s3.pendingUploads(), [], `${label}: no parts left`);
    const me = await app.inject({ method: "GET", url: "/v1/users/me", headers: dan.v1 });
    t.equal(me.json().avatar_url, before.json().avatar_url, `${label}: the picture is unchanged`);
  };
  const V1_UNAVAILABLE = errorBody("service_unavailable", "The service is temporarily unavailable.", { reason: "storage_unavailable" });
  const VAPP_UNAVAILABLE = { type: "server:unavailable", title: "Service Unavailable", detail: "The service is temporarily unavailable" };
  const attempts = async (label: string) => {
    for (const [method, url, field, auth, body] of [
      ["PUT", "/v1/users/me/avatar", "avatar", dan.v1, V1_UNAVAILABLE],
      ["POST", "/users/image", "image", dan.vapp, VAPP_UNAVAILABLE],
      ["POST", "/image", "image", dan.vapp, VAPP_UNAVAILABLE],
    ] as const) {
      const res = await upload(app, method, url, auth, field, png(6, 6));
      t.same([res.statusCode, res.json()], [503, body], `${label}: ${url}`);
      t.equal(res.headers["retry-after"], "5");
    }
  };

  // The store answers every write with an error (after the SDK's retries).
  s3.failWhen((req) => req.method === "PUT");
  await attempts("writes fail");
  s3.failWhen(null);
  await unchanged("writes fail");

  // The store is down: connections refused.
  await s3.stop();
  await attempts("store down");
  const media = await app.inject({ method: "GET", url: `/media/${kept[0]}` });
  t.same([media.statusCode, media.json()], [503, V1_UNAVAILABLE], "/media cannot read it either");
  await s3.restart();
  await unchanged("store down");
  t.equal((await app.inject({ method: "GET", url: `/media/${kept[0]}` })).statusCode, 200, "served again");

  const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "a service this request needs is unavailable");
  t.ok(warnings.length >= 6, "each failure is logged as a warning with its cause");
  t.match(warnings[0].err.message, /S3 upload of [0-9a-f-]{36}\.(webp|png) failed/);
});

t.test("the driver: multipart uploads whole or aborted, reads, deletes, URLs", async (t) => {
  const s3 = await s3Server(t);
  const config = { bucket: s3.bucket, region: "us-east-1", endpoint: s3.endpoint, publicUrl: undefined };
  const storage = s3Storage(config, "http://media.test");
  const key = (n: number) => `0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5${n}.png`;
  // Over the 5 MiB part size: a multipart upload of three parts.
  const big = Buffer.alloc(12 * 1024 * 1024, 7);

  await storage.put(key(1), big, "image/png");
  t.match(await s3.head(key(1)), { ContentType: "image/png", CacheControl: MEDIA_CACHE_CONTROL, ContentLength: big.length });
  const object = await storage.get(key(1));
  t.match(object, { size: big.length, contentType: "image/png" });
  const chunks: Buffer[] = [];
  for await (const c of object!.stream) chunks.push(c as Buffer);
  t.ok(Buffer.concat(chunks).equals(big), "read back whole");

  // A part that fails (every retry): the upload is aborted, its parts deleted, no object appears.
  s3.failWhen((req) => req.method === "PUT" && /[?&]partNumber=2\b/.test(req.url ?? ""));
  const failed = await storage.put(key(2), big, "image/png").catch((err: unknown) => err);
  t.ok(failed instanceof StorageUnavailable, "the put fails as StorageUnavailable");
  s3.failWhen(null);
  t.same(await s3.keys(), [key(1)]);
  t.same(s3.pendingUploads(), [], "the multipart upload was aborted");

  t.equal(await storage.get(key(2)), null, "a missing object reads as null");
  t.equal(await storage.get("../etc/passwd"), null, "so does a key that is not a media key");
  await storage.delete(key(2));
  t.pass("deleting a missing object is not an error");
  await storage.delete(key(1));
  t.same(await s3.keys(), []);

  t.equal(storage.publicUrl(key(1)), `http://media.test/media/${key(1)}`);
  t.equal(s3Storage({ ...config, publicUrl: "https://cdn.example.org/m" }, "http://media.test").publicUrl(key(1)), `https://cdn.example.org/m/${key(1)}`);
});
