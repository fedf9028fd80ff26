// The V-app surface (SPEC 3): /signup, /login, /token, /users, /users/image, /image at the root,
// in the seed's shapes and error format. JSON bodies with another content type (or that do not
// parse) count as empty, as the original server's clients expect.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { AppError } from "../../domain/errors.ts";
import { toVappUserId } from "../../domain/ids.ts";
import type { User } from "../../domain/accounts.ts";
import { readImagePart } from "../../plugins/uploads.ts";
import { vappErrorHandler } from "./errors.ts";
import { credentialsInput, signupInput } from "./validation.ts";

const MEDIA_TYPE = /^\s*[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+\s*(;.*)?$/;

export default async function vappRoutes(app: FastifyInstance) {
  const { accounts, media } = app.services;

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
  app.addHook("onRequest", async (req) => {
    const type = req.headers["content-type"];
    if (type !== undefined && !MEDIA_TYPE.test(type)) req.headers["content-type"] = "application/octet-stream";
  });

  const vappUser = (u: User) => ({
    id: toVappUserId(u.id),
    name: u.username ?? "",
    display_name: u.displayName,
    image_url: media.urlOrNull(u.imageKey),
  });
  const session = async (user: User) => ({
    user: vappUser(user),
    token: app.tokens.vapp({ id: user.id, username: user.username ?? "" }),
    users: (await accounts.othersWithUsername(user.id)).map(vappUser),
  });
  const login = async (body: unknown) => {
    const { username, password } = credentialsInput(body);
    const user = await accounts.checkPassword({ username }, password);
    if (!user) throw new AppError("invalid_credentials");
    return user;
  };

  // The V-app's bodies are checked by its own rules (validation.ts), not by the schema validator.
  const ownRules = { validateBody: false };

  implement(
    app,
    "vappSignup",
    async (req, reply) => {
      const user = await accounts.createWithUsername(signupInput(req.body));
      return reply.status(201).send(await session(user));
    },
    ownRules,
  );

  implement(app, "vappLogin", async (req) => session(await login(req.body)), ownRules);

  implement(
    app,
    "vappToken",
    async (req) => {
      const user = await login(req.body);
      return { token: app.tokens.vapp({ id: user.id, username: user.username ?? "" }) };
    },
    ownRules,
  );

  implement(app, "vappListUsers", async (req) => (await accounts.othersWithUsername(req.principal.id)).map(vappUser));

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
    async (req) => ({ image_url: media.url(await media.storeImage(await readImagePart(req, app.config.maxImageBytes), "image")) }),
    ownRules,
  );
}
