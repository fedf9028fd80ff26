// V-app images: checked by content, stored whole or not at all, public at the returned URL.
import { readdirSync } from "node:fs";
import path from "node:path";
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { gif, multipart, png } from "../helpers/images.ts";
import { VALIDATION, bearer, json, signup } from "../helpers/vapp.ts";

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
  t.same(Buffer.from(await fetched.arrayBuffer()), image, "the same bytes");

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

  for (const url of ["/users/image", "/image"]) {
    const notImage = await multipart([{ name: "image", data: "just text, not a picture", filename: "a.png", type: "image/png" }]);
    let res = await app.inject({ method: "POST", url, ...notImage, headers: { ...notImage.headers, ...auth } });
    t.same([res.statusCode, res.json()], [403, invalid("must be a PNG, JPEG, GIF or WebP image")], `${url}: a text file named .png`);

    const svg = await multipart([{ name: "image", data: '<svg xmlns="http://www.w3.org/2000/svg"/>', filename: "a.svg", type: "image/svg+xml" }]);
    res = await app.inject({ method: "POST", url, ...svg, headers: { ...svg.headers, ...auth } });
    t.equal(res.statusCode, 403, `${url}: SVG is not accepted`);

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
    t.equal(broken.statusCode, 403, `${url}: a truncated multipart body`);

    const big = await multipart([{ name: "image", data: png(2, 2, 6 * 1024 * 1024), filename: "big.png", type: "image/png" }]);
    res = await app.inject({ method: "POST", url, ...big, headers: { ...big.headers, ...auth } });
    t.equal(res.statusCode, 413, `${url}: a 6 MiB image`);
    t.same(res.json(), {
      type: "data:validation",
      title: "Payload Too Large",
      detail: "The request failed because it is too large",
      invalid_parameters: [{ name: "image", reason: `must be at most ${5 * 1024 * 1024} bytes` }],
    });
  }
  const justUnder = await multipart([{ name: "image", data: png(2, 2, 5 * 1024 * 1024 - 100), filename: "ok.png" }]);
  const ok = await app.inject({ method: "POST", url: "/image", ...justUnder, headers: { ...justUnder.headers, ...auth } });
  t.equal(ok.statusCode, 200, "an image just under 5 MiB is fine");

  t.equal(stored(dataDir).length, 1, "only the one good upload is stored; no temporary files remain");
  const user = await app.db.user.findFirstOrThrow();
  t.equal(user.imageKey, null, "the account was not changed by any failed upload");
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
