// V-app images: checked by content, decoded and re-encoded (metadata gone, orientation applied), stored
// whole or not at all, public at the returned URL.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import sharp from "sharp";
import t from "tap";
import type { FastifyInstance } from "fastify";
import { localStorage } from "../../src/adapters/storage/local.ts";
import { testApp } from "../helpers/app.ts";
import {
  GPS_IFD_TAG, PRIVATE_MARK, animation, apng, exifIfd0Tags, gif, gpsPhoto, multipart, png, pngBomb, truncations, webpCanvasBomb,
} from "../helpers/images.ts";
import { BAD_CREDENTIALS, VALIDATION, bearer, json, signup } from "../helpers/vapp.ts";

const stored = (dataDir: string) => {
  try {
    return readdirSync(path.join(dataDir, "media"));
  } catch {
    return [];
  }
};

t.test("an uploaded picture is public at its URL and shows at the next login", async (t) => {
  const { app, dataDir } = await testApp(t, { env: { PUBLIC_URL: "http://127.0.0.1:0" } });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const paul = await signup(app, "paul");
  const arden = await signup(app, "arden");

  const image = png(3, 3);
  const body = new FormData();
  body.append("image", new Blob([image], { type: "text/plain" }), "lies.txt");
  body.append("caption", "ignored field");
  const res = await fetch(`${base}/users/image`, { method: "POST", body, headers: bearer(paul.token) });
  t.equal(res.status, 200);
  const { image_url } = (await res.json()) as { image_url: string };
  t.match(image_url, /^http:\/\/127\.0\.0\.1:0\/media\/[0-9a-f-]{36}\.png$/, "absolute URL under PUBLIC_URL");

  const fetched = await fetch(`${base}${new URL(image_url).pathname}`);
  t.equal(fetched.status, 200, "fetchable without auth");
  t.equal(fetched.headers.get("content-type"), "image/png", "Content-Type from the content, not the declared type");
  t.match(fetched.headers.get("cache-control"), /max-age=\d+/);
  // Re-encoded (no longer the bytes sent), losslessly: the same PNG picture.
  const served = Buffer.from(await fetched.arrayBuffer());
  t.same(await sharp(served).raw().toBuffer(), await sharp(image).raw().toBuffer(), "the same pixels");

  const login = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "paul", password: "correct horse" } });
  t.equal(login.json().user.image_url, image_url);
  const others = await app.inject({ method: "GET", url: "/users", headers: bearer(arden.token) });
  t.equal(others.json()[0].image_url, image_url, "other users see it too");

  // Replacing the picture removes the old file.
  const again = await multipart([{ name: "image", data: gif, filename: "a.gif", type: "image/gif" }]);
  const replaced = await app.inject({ method: "POST", url: "/users/image", ...again, headers: { ...again.headers, ...bearer(paul.token) } });
  t.equal(replaced.statusCode, 200);
  t.match(replaced.json().image_url, /\.gif$/);
  t.equal(stored(app.config.dataDir).length, 1, "the previous picture is gone");
  t.equal((await fetch(`${base}${new URL(image_url).pathname}`)).status, 404);
  t.ok(dataDir);
});

t.test("/image stores without touching the account", async (t) => {
  const { app } = await testApp(t);
  const paul = await signup(app, "paul");
  const body = await multipart([{ name: "image", data: gif, filename: "x.gif" }]);
  const res = await app.inject({ method: "POST", url: "/image", ...body, headers: { ...body.headers, ...bearer(paul.token) } });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { image_url: /^http:\/\/media\.test\/media\/.+\.gif$/ });
  const media = await app.inject({ method: "GET", url: new URL(res.json().image_url).pathname });
  t.equal(media.statusCode, 200);
  t.equal(media.headers["content-type"], "image/gif");
  const login = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "paul", password: "correct horse" } });
  t.equal(login.json().user.image_url, null);
});

t.test("bad uploads are refused and leave nothing behind", async (t) => {
  const { app, dataDir } = await testApp(t);
  const paul = await signup(app, "paul");
  const auth = bearer(paul.token);
  const invalid = (reason: string) => ({ ...VALIDATION, invalid_parameters: [{ name: "image", reason }] });
  // The answer to an oversized JSON body on /signup (test/vapp/accounts.test.ts).
  const TOO_LARGE = { type: "data:validation", title: "Payload Too Large", detail: "The request failed because it is too large", invalid_parameters: [] };

  for (const url of ["/users/image", "/image"]) {
    const notImage = await multipart([{ name: "image", data: "just text, not a picture", filename: "a.png", type: "image/png" }]);
    let res = await app.inject({ method: "POST", url, ...notImage, headers: { ...notImage.headers, ...auth } });
    t.same([res.statusCode, res.json()], [403, invalid("must be a PNG, JPEG, GIF or WebP image")], `${url}: a text file named .png`);

    const svg = await multipart([{ name: "image", data: '<svg xmlns="http://www.w3.org/2000/svg"/>', filename: "a.svg", type: "image/svg+xml" }]);
    res = await app.inject({ method: "POST", url, ...svg, headers: { ...svg.headers, ...auth } });
    t.same([res.statusCode, res.json()], [403, invalid("must be a PNG, JPEG, GIF or WebP image")], `${url}: SVG is not accepted`);

    const wrongName = await multipart([{ name: "picture", data: png(), filename: "a.png" }]);
    res = await app.inject({ method: "POST", url, ...wrongName, headers: { ...wrongName.headers, ...auth } });
    t.same([res.statusCode, res.json()], [403, invalid("must exist")], `${url}: missing image part`);

    const fieldOnly = await multipart([{ name: "image", data: "not a file" }]);
    res = await app.inject({ method: "POST", url, ...fieldOnly, headers: { ...fieldOnly.headers, ...auth } });
    t.same([res.statusCode, res.json()], [403, invalid("must exist")], `${url}: image as a text field`);

    const two = await multipart([
      { name: "image", data: png(), filename: "a.png" },
      { name: "image", data: gif, filename: "b.gif" },
    ]);
    res = await app.inject({ method: "POST", url, ...two, headers: { ...two.headers, ...auth } });
    t.same([res.statusCode, res.json()], [403, invalid("must be a single file")], `${url}: two image parts`);

    const asJson = await app.inject({ method: "POST", url, headers: { ...json, ...auth }, payload: { image: "aGVsbG8=" } });
    t.same([asJson.statusCode, asJson.json()], [403, invalid("must exist")], `${url}: JSON instead of multipart`);

    const broken = await app.inject({
      method: "POST",
      url,
      headers: { "content-type": "multipart/form-data; boundary=xyz", ...auth },
      payload: "--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nunterminated",
    });
    t.same(
      [broken.statusCode, broken.json()],
      [403, invalid("must be a file in a well-formed multipart/form-data body")],
      `${url}: a truncated multipart body`,
    );

    const big = await multipart([{ name: "image", data: png(2, 2, 6 * 1024 * 1024), filename: "big.png", type: "image/png" }]);
    res = await app.inject({ method: "POST", url, ...big, headers: { ...big.headers, ...auth } });
    t.equal(res.statusCode, 413, `${url}: a 6 MiB image`);
    t.same(res.json(), {
      type: "data:validation",
      title: "Payload Too Large",
      detail: "The request failed because it is too large",
      invalid_parameters: [{ name: "image", reason: `must be at most ${5 * 1024 * 1024} bytes` }],
    });

    // Exactly one file part, named image: a second file part is refused as such whatever its name
    // and size (it is never measured against the image limit), before or after the image.
    const sixMiB = Buffer.alloc(6 * 1024 * 1024, 0x61);
    for (const [label, parts] of [
      ["an extra 6 MiB file part after the image", [{ name: "image", data: png(), filename: "a.png" }, { name: "attachment", data: sixMiB, filename: "b.bin" }]],
      ["an extra 6 MiB file part before the image", [{ name: "attachment", data: sixMiB, filename: "b.bin" }, { name: "image", data: png(), filename: "a.png" }]],
      ["an extra small file part", [{ name: "image", data: png(), filename: "a.png" }, { name: "thumb", data: gif, filename: "t.gif" }]],
    ] as const) {
      const extra = await multipart([...parts]);
      res = await app.inject({ method: "POST", url, ...extra, headers: { ...extra.headers, ...auth } });
      t.same([res.statusCode, res.json()], [403, invalid("must be a single file")], `${url}: ${label}`);
    }
    const manyFields = await multipart([{ name: "image", data: png(), filename: "a.png" }, ...Array.from({ length: 17 }, (_, i) => ({ name: `f${i}`, data: "x" }))]);
    res = await app.inject({ method: "POST", url, ...manyFields, headers: { ...manyFields.headers, ...auth } });
    t.same([res.statusCode, res.json()], [413, TOO_LARGE], `${url}: 17 text fields are too many, and not the image's fault`);

    const onlyOther = await multipart([{ name: "attachment", data: sixMiB, filename: "b.bin" }]);
    res = await app.inject({ method: "POST", url, ...onlyOther, headers: { ...onlyOther.headers, ...auth } });
    t.same([res.statusCode, res.json()], [403, invalid("must exist")], `${url}: only a 6 MiB file part with another name`);

    // A body that is not multipart keeps the 1 MiB limit of every V-app route, with the same 413.
    const bigJson = JSON.stringify({ image: "x".repeat(2 * 1024 * 1024) });
    for (const [type, payload] of [["application/json", bigJson], ["application/octet-stream", Buffer.alloc(2 * 1024 * 1024)]] as const) {
      res = await app.inject({ method: "POST", url, headers: { "content-type": type, ...auth }, payload });
      t.same([res.statusCode, res.json()], [413, TOO_LARGE], `${url}: a 2 MiB ${type} body`);
    }
  }
  const justUnder = await multipart([{ name: "image", data: png(2, 2, 5 * 1024 * 1024 - 100), filename: "ok.png" }]);
  const ok = await app.inject({ method: "POST", url: "/image", ...justUnder, headers: { ...justUnder.headers, ...auth } });
  t.equal(ok.statusCode, 200, "an image just under 5 MiB is fine");

  t.equal(stored(dataDir).length, 1, "only the one good upload is stored; no temporary files remain");
  const user = await app.db.user.findFirstOrThrow();
  t.equal(user.imageKey, null, "the account was not changed by any failed upload");
});

t.test("an animated PNG is accepted as a PNG, kept as its still default image", async (t) => {
  const { app } = await testApp(t);
  const paul = await signup(app, "paul");
  const image = apng(3, 2);
  for (const url of ["/users/image", "/image"]) {
    const body = await multipart([{ name: "image", data: image, filename: "anim.apng", type: "image/apng" }]);
    const res = await app.inject({ method: "POST", url, ...body, headers: { ...body.headers, ...bearer(paul.token) } });
    t.equal(res.statusCode, 200, url);
    t.same(Object.keys(res.json()), ["image_url"]);
    t.match(res.json().image_url, /^http:\/\/media\.test\/media\/[0-9a-f-]{36}\.png$/, `${url}: stored as .png`);
    const media = await app.inject({ method: "GET", url: new URL(res.json().image_url).pathname });
    t.equal(media.statusCode, 200);
    t.equal(media.headers["content-type"], "image/png", `${url}: served as image/png`);
    // libvips decodes no APNG frames: the re-encoded file is the default image, a plain PNG.
    const meta = await sharp(media.rawPayload, { animated: true }).metadata();
    t.match(meta, { format: "png", width: 3, height: 2 }, `${url}: the picture's size`);
    t.notOk(meta.pages, `${url}: a still image`);
    t.notOk(media.rawPayload.includes("acTL"), `${url}: no animation chunks left`);
    t.same(await sharp(media.rawPayload).raw().toBuffer(), Buffer.alloc(3 * 2 * 3, 0x80), `${url}: the first frame's pixels`);
  }
});

/** The colour at (x, y) of a served image, channel by channel. */
async function pixel(image: Buffer, x: number, y: number, page = 0): Promise<number[]> {
  const { data, info } = await sharp(image, { page }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + 3)];
}
const near = (actual: number[], expected: number[]) => actual.every((v, i) => Math.abs(v - expected[i]!) <= 24);
const RED = [255, 0, 0];
const BLUE = [0, 0, 255];

t.test("a camera photo is served without EXIF (GPS included), XMP or ICC, and upright", async (t) => {
  const { app } = await testApp(t);
  const paul = await signup(app, "paul");
  const upload = async (url: string, image: Buffer, filename: string) => {
    const body = await multipart([{ name: "image", data: image, filename, type: "image/jpeg" }]);
    const res = await app.inject({ method: "POST", url, ...body, headers: { ...body.headers, ...bearer(paul.token) } });
    t.equal(res.statusCode, 200, `${url}: ${filename} accepted`);
    return res.json().image_url as string;
  };
  const cases = [
    ["/users/image", "jpeg", "jpg"],
    ["/image", "jpeg", "jpg"],
    ["/image", "png", "png"],
    ["/image", "webp", "webp"],
  ] as const;
  for (const [url, format, ext] of cases) {
    // 90×60 as stored, 60×90 as shown: EXIF Orientation 6 turns it a quarter clockwise.
    const photo = await gpsPhoto({ width: 90, height: 60, orientation: 6, format });
    const sent = await sharp(photo).metadata();
    t.ok(sent.exif && exifIfd0Tags(sent.exif).includes(GPS_IFD_TAG) && photo.includes(PRIVATE_MARK), `${url}: the ${format} upload carries GPS data`);

    const imageUrl = await upload(url, photo, `photo.${ext}`);
    t.match(imageUrl, new RegExp(`^http://media\\.test/media/[0-9a-f-]{36}\\.${ext}$`), `${url}: still a .${ext}`);
    const file = await app.inject({ method: "GET", url: new URL(imageUrl).pathname });
    t.equal(file.statusCode, 200);
    t.equal(file.headers["content-type"], `image/${format}`);
    const meta = await sharp(file.rawPayload).metadata();
    t.equal(meta.format, format, `${url}: ${format} stays ${format}`);
    t.notOk(meta.exif, `${url} ${format}: no EXIF, so no GPS`);
    t.notOk(meta.xmp, `${url} ${format}: no XMP`);
    t.notOk(meta.icc, `${url} ${format}: no ICC profile (converted to sRGB)`);
    t.notOk(file.rawPayload.includes(PRIVATE_MARK), `${url} ${format}: nothing of the metadata is in the file`);
    t.same([meta.width, meta.height, meta.orientation], [60, 90, undefined], `${url} ${format}: turned upright, no orientation left to apply`);
    t.ok(near(await pixel(file.rawPayload, 30, 10), RED) && near(await pixel(file.rawPayload, 30, 80), BLUE), `${url} ${format}: the left half is now on top`);
  }
  const login = await app.inject({ method: "POST", url: "/login", headers: json, payload: { name: "paul", password: "correct horse" } });
  t.match(login.json().user.image_url, /\.jpg$/, "the cleaned photo is the user's picture");
});

t.test("undecodable images and decompression bombs are refused as such and leave nothing behind", async (t) => {
  const { app, dataDir } = await testApp(t);
  const paul = await signup(app, "paul");
  const UNREADABLE = { ...VALIDATION, invalid_parameters: [{ name: "image", reason: "must be a readable image of at most 40 megapixels" }] };
  const send = async (url: string, data: Buffer) => {
    const body = await multipart([{ name: "image", data, filename: "upload.bin" }]);
    return app.inject({ method: "POST", url, ...body, headers: { ...body.headers, ...bearer(paul.token) } });
  };
  const noisy = (width = 120, height = 80) =>
    sharp({ create: { width, height, channels: 3, background: "#3a6", noise: { type: "gaussian", mean: 120, sigma: 40 } } });
  const images = {
    jpeg: await noisy().jpeg().toBuffer(),
    "progressive jpeg": await noisy().jpeg({ progressive: true }).toBuffer(),
    png: await noisy().png().toBuffer(),
    "interlaced png": await noisy().png({ progressive: true }).toBuffer(),
    "animated gif": await sharp([await noisy().png().toBuffer(), await noisy().png().toBuffer(), await noisy().png().toBuffer()], { join: { animated: true } }).gif().toBuffer(),
    webp: await noisy().webp().toBuffer(),
    "lossless webp": await noisy().webp({ lossless: true }).toBuffer(),
    "animated webp": await animation("webp", ["#f00", "#0f0", "#00f"]),
  };
  // Every format cut short anywhere, with or without text after the cut: the magic bytes say image,
  // the data does not decode to the end.
  for (const { label, data } of truncations(images, 6)) {
    const res = await send("/image", data);
    t.same([res.statusCode, res.json()], [403, UNREADABLE], `/image: ${label}`);
  }
  const tail = Buffer.from("\ntrailing text\n");
  const gifCut = images["animated gif"].subarray(0, Math.floor(images["animated gif"].length * 0.6));
  for (const url of ["/users/image", "/image"]) {
    for (const [label, data] of [
      ["a truncated GIF with trailing text", Buffer.concat([gifCut, tail])],
      ["a GIF cut in its header, then text", Buffer.concat([gif.subarray(0, 20), tail])],
      ["a truncated JPEG", images.jpeg.subarray(0, images.jpeg.length - 200)],
      ["a truncated PNG", images.png.subarray(0, images.png.length - 200)],
      // Decompression bombs: refused from their headers, before any pixel is decoded.
      ["a 50 KB PNG of 20000×20000 pixels", pngBomb(20000, 20000)],
      ["a 300-byte animated WebP of 5 frames of 3000×3000", await webpCanvasBomb(3000, 3000, 5)],
    ] as const) {
      const res = await send(url, data);
      t.same([res.statusCode, res.json()], [403, UNREADABLE], `${url}: ${label}`);
    }
  }
  t.same(stored(dataDir), [], "nothing was stored");
  t.equal((await app.db.user.findFirstOrThrow()).imageKey, null, "the account was not changed");

  // The same images whole are accepted.
  for (const [name, data] of Object.entries(images)) t.equal((await send("/image", data)).statusCode, 200, `${name}, uncut`);
});

t.test("animated GIF and WebP keep every frame, delay and loop count", async (t) => {
  const { app } = await testApp(t);
  const paul = await signup(app, "paul");
  const upload = async (url: string, data: Buffer) => {
    const body = await multipart([{ name: "image", data, filename: "anim" }]);
    const res = await app.inject({ method: "POST", url, ...body, headers: { ...body.headers, ...bearer(paul.token) } });
    t.equal(res.statusCode, 200);
    return (await app.inject({ method: "GET", url: new URL(res.json().image_url).pathname })).rawPayload;
  };
  const colours = [RED, RED, BLUE]; // two equal frames in a row are still two frames
  for (const url of ["/users/image", "/image"]) {
    const served = await upload(url, await animation("gif", ["#f00", "#f00", "#00f"], { delay: 120, loop: 3 }));
    const meta = await sharp(served).metadata();
    t.match(meta, { format: "gif", pages: 3, width: 60, height: 40, delay: [120, 120, 120], loop: 3 }, `${url}: GIF`);
    for (const [i, colour] of colours.entries()) t.ok(near(await pixel(served, 5, 5, i), colour), `${url}: GIF frame ${i}`);
  }

  // An animated WebP with EXIF (orientation 6, GPS): every frame is turned upright, the EXIF goes.
  const frames = await animation("webp", ["#f00", "#0f0", "#00f"], { width: 60, height: 40, delay: 80, loop: 2 });
  const tagged = await sharp(frames, { animated: true })
    .webp({ lossless: true })
    .withMetadata({ orientation: 6 })
    .withExifMerge({ IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 2988/100", GPSMapDatum: PRIVATE_MARK } })
    .toBuffer();
  t.match(await sharp(tagged).metadata(), { pages: 3, orientation: 6, width: 60 }, "the upload is a tagged animation");
  const served = await upload("/image", tagged);
  const meta = await sharp(served).metadata();
  t.match(meta, { format: "webp", pages: 3, width: 40, height: 60, delay: [80, 80, 80], loop: 2 }, "WebP: frames kept, each upright");
  t.notOk(meta.exif, "WebP: no EXIF");
  t.notOk(served.includes(PRIVATE_MARK), "WebP: no GPS data");
  for (const [i, colour] of [RED, [0, 255, 0], BLUE].entries()) t.ok(near(await pixel(served, 5, 5, i), colour), `WebP frame ${i}`);
});

/** A request body that waits for `gate` before giving out anything past `at` bytes. */
function gatedBody(body: Buffer, at: number, gate: () => Promise<unknown>): Readable {
  let offset = 0;
  let opened = false;
  return new Readable({
    read() {
      const give = () => {
        const next = body.subarray(offset, offset + 16 * 1024);
        offset += next.length;
        this.push(next.length > 0 ? next : null);
      };
      if (offset < at || opened) return give();
      opened = true;
      // A gate that fails breaks the body (an aborted upload), not the process (an unhandled rejection).
      gate().then(give, (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))));
    },
  });
}

t.test("an upload by a user who no longer exists is auth:unauthorized and stores nothing", async (t) => {
  // The storage can run a step just before it stores (the last moment the account can go away).
  let beforePut: (() => Promise<unknown>) | null = null;
  const dataDir = mkdtempSync(path.join(tmpdir(), "vidivo-test-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const disk = localStorage(dataDir, "http://media.test");
  const storage = {
    ...disk,
    async put(key: string, data: Buffer, contentType: string) {
      if (beforePut) await beforePut();
      return disk.put(key, data, contentType);
    },
  };
  const { app } = await testApp(t, { dataDir, overrides: { storage } });
  const remove = (app: FastifyInstance, id: string) => app.db.user.deleteMany({ where: { id: id.replace(/^USR-/, "") } });
  const image = png(2, 2, 512 * 1024);

  // Deleted before the request: refused by the token check on both routes.
  for (const url of ["/users/image", "/image"]) {
    const gone = await signup(app, `gone${url.length}`);
    await remove(app, gone.user.id);
    const body = await multipart([{ name: "image", data: image, filename: "a.png" }]);
    const res = await app.inject({ method: "POST", url, ...body, headers: { ...body.headers, ...bearer(gone.token) } });
    t.same([res.statusCode, res.json()], [403, BAD_CREDENTIALS], `${url}: a valid token of a deleted user`);
  }

  // Deleted while the image was arriving (after the token was checked, before the account is read).
  const mid = await signup(app, "midway");
  const body = await multipart([{ name: "image", data: image, filename: "a.png" }]);
  const res = await app.inject({
    method: "POST",
    url: "/users/image",
    headers: { ...body.headers, ...bearer(mid.token) },
    payload: gatedBody(body.payload, 256 * 1024, () => remove(app, mid.user.id)),
  });
  t.same([res.statusCode, res.json()], [403, BAD_CREDENTIALS], "/users/image: the user deleted mid-upload");
  t.equal(await app.db.user.count({ where: { username: "midway" } }), 0, "the user really was deleted during the upload");

  // Deleted between the account check and the update (while the image was being stored).
  const late = await signup(app, "lately");
  beforePut = () => remove(app, late.user.id);
  const again = await multipart([{ name: "image", data: image, filename: "a.png" }]);
  const raced = await app.inject({ method: "POST", url: "/users/image", ...again, headers: { ...again.headers, ...bearer(late.token) } });
  t.same([raced.statusCode, raced.json()], [403, BAD_CREDENTIALS], "/users/image: the user deleted while the image was stored");
  beforePut = null;

  t.same(stored(dataDir), [], "nothing is left in $DATA_DIR/media");
});

t.test("media keys are checked", async (t) => {
  const { app } = await testApp(t);
  const missing = await app.inject({ method: "GET", url: "/media/01a20241-a559-79db-805b-530d67b69e8d.png" });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().error.code, "not_found");
  for (const key of ["..%2F..%2Fetc%2Fpasswd", "x.png", "01a20241-a559-79db-805b-530d67b69e8d.exe"]) {
    const res = await app.inject({ method: "GET", url: `/media/${key}` });
    t.equal(res.statusCode, 400, key);
    t.equal(res.json().error.code, "validation_error");
  }
});
