// /v1/users/me: the caller's profile and picture.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { implement } from "../../contract/routes.ts";
import type { User } from "../../domain/accounts.ts";
import { AppError } from "../../domain/errors.ts";
import { readImagePart } from "../../plugins/uploads.ts";
import { profileView } from "./views.ts";

/** The signed-in account; a token whose account is gone is refused like any invalid token. */
export async function callerAccount(app: FastifyInstance, req: FastifyRequest): Promise<User> {
  const principal = req.principal;
  if (!principal || principal.kind !== "user") throw new AppError("unauthorized");
  const user = await app.services.accounts.byId(principal.id);
  if (!user) throw new AppError("unauthorized");
  return user;
}

export default async function userRoutes(app: FastifyInstance) {
  const { accounts } = app.services;
  const profile = profileView(app.services.media);

  implement(app, "getMyProfile", async (req) => profile(await callerAccount(app, req)));

  implement(app, "updateMyProfile", async (req) => {
    const me = await callerAccount(app, req);
    const { display_name, username, bio } = req.body;
    const patch = {
      ...(display_name !== undefined ? { displayName: display_name } : {}),
      ...(username !== undefined ? { username } : {}),
      ...(bio !== undefined ? { bio } : {}),
    };
    return profile(Object.keys(patch).length ? await accounts.updateProfile(me.id, patch) : me);
  });

  implement(
    app,
    "setMyAvatar",
    async (req) => {
      const me = await callerAccount(app, req);
      const image = await readImagePart(req, app.config.maxImageBytes, "avatar");
      return profile(await accounts.setProfileImage(me.id, image, "avatar", "avatar"));
    },
  );
}
