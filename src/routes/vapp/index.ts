// The V-app surface (docs/vapp.md): /signup, /login, /token, /users, /users/image, /image at the
// root, in the original V-app server's shapes and error format, and Vonage's webhooks
// (webhooks.ts). JSON bodies with another content type (or that do not parse) count as empty, as
// the original server's clients expect.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { serialized, type JsonBody } from "../../contract/types.ts";
import type { components } from "../../contract/generated/api.d.ts";
import { AppError } from "../../domain/errors.ts";
import type { User } from "../../domain/accounts.ts";
import { readImagePart } from "../../http/uploads.ts";
import { vappErrorHandler } from "./errors.ts";
import { acceptsGzip, bodyOf, etagMatches, GZIP_MIN_BYTES, userListEtag, userListRenderer } from "./user-list.ts";
import { credentialsInput, signupInput, signupRules } from "./validation.ts";
import vonageWebhookRoutes from "./webhooks.ts";

const MEDIA_TYPE = /^\s*[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+\s*(;.*)?$/;
const JSON_TYPE = "application/json; charset=utf-8";
type VappSession = components["schemas"]["VappSession"];
type VappUserList = JsonBody<"vappListUsers", 200>;

export default async function vappRoutes(app: FastifyInstance) {
  const { accounts, media, directory } = app.services;

  app.setErrorHandler(vappErrorHandler);

  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, body === "" ? undefined : JSON.parse(body as string));
    } catch {
      done(null, undefined);
    }
  });
  // Anything else is read (within the body limit) and ignored — a malformed Content-Type included.
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, _body, done) => done(null, undefined));
  app.addHook("onRequest", (req, _reply, done) => {
    const type = req.headers["content-type"];
    if (type !== undefined && !MEDIA_TYPE.test(type)) req.headers["content-type"] = "application/octet-stream";
    done();
  });

  // Every other user comes from the directory's rendered list (user-list.ts), its bytes spliced
  // into the response as they are.
  const lists = userListRenderer((key) => media.urlOrNull(key));
  const { vappUser } = lists;
  const userList = async () => lists.listOf(await directory.current());
  /** `{"user", "token", "users"}`, in the bytes the schema's serializer would write. */
  const session = async (user: User) => {
    const users = (await userList()).json(user.id);
    const head = JSON.stringify({ user: vappUser(user), token: app.tokens.vapp(user) });
    return serialized<VappSession>(Buffer.concat([Buffer.from(`${head.slice(0, -1)},"users":`), ...users, Buffer.from("}")]));
  };
  const login = async (body: unknown) => {
    const { username, password } = credentialsInput(body);
    const user = await accounts.checkPassword({ username }, password);
    if (!user) throw new AppError("invalid_credentials");
    return user;
  };

  // The V-app's bodies are checked by its own rules (validation.ts), not by the schema validator.
  const ownRules = { validateBody: false };
  const signup = signupRules(app.contract.dereferenced.components.schemas.VappSignupRequest);

  implement(
    app,
    "vappSignup",
    async (req, reply) => {
      const user = await accounts.createWithUsername(signupInput(req.body, signup));
      return reply.type(JSON_TYPE).code(201).send(await session(user));
    },
    ownRules,
  );

  implement(app, "vappLogin", async (req, reply) => reply.type(JSON_TYPE).code(200).send(await session(await login(req.body))), ownRules);

  implement(
    app,
    "vappToken",
    async (req) => {
      const user = await login(req.body);
      return { token: app.tokens.vapp(user) };
    },
    ownRules,
  );

  // The list carries a validator (If-None-Match → 304), and its gzip encoding is assembled from
  // the rendered list's precompressed segments (other encodings: the compression plugin's, per request).
  const renderKey = media.url("");
  implement(app, "vappListUsers", async (req, reply) => {
    const list = await userList();
    const caller = req.principal.id;
    const etag = userListEtag(list.version, caller, renderKey);
    reply.header("etag", etag).header("vary", "accept-encoding");
    if (etagMatches(req.headers["if-none-match"], etag)) return reply.code(304).send();
    const gzip = list.bytes >= GZIP_MIN_BYTES && acceptsGzip(req.headers["accept-encoding"]);
    if (gzip) reply.header("content-encoding", "gzip");
    const body = bodyOf(gzip ? list.gzip(caller) : list.json(caller));
    return reply.type(JSON_TYPE).header("content-length", body.length).code(200).send(serialized<VappUserList>(body));
  });

  // No route bodyLimit for images: a multipart body is not read by the content-type parser (the
  // image's own limit applies, in readImagePart), and any other body keeps the 1 MiB limit of every
  // route, answered with the same 413 as oversized JSON elsewhere on this surface.

  implement(
    app,
    "vappSetUserImage",
    async (req) => {
      const user = await accounts.setProfileImage(req.principal.id, await readImagePart(req, app.config.maxImageBytes), "image");
      return { image_url: media.url(user.imageKey!) };
    },
    ownRules,
  );

  implement(
    app,
    "vappUploadImage",
    // Recorded as the caller's: listed in their export, removed with their account.
    async (req) => ({ image_url: media.url(await accounts.storeUpload(req.principal.id, await readImagePart(req, app.config.maxImageBytes), "image")) }),
    ownRules,
  );

  // The original answered `200 OK` without metrics; ours are on a listener of their own (METRICS_PORT).
  implement(app, "vappMetrics", async (_req, reply) =>
    reply.code(404).send({ type: "data:notfound", title: "Not Found", detail: "Metrics are served on the metrics port (METRICS_PORT), at /metrics" }),
  );

  await app.register(vonageWebhookRoutes);
}
