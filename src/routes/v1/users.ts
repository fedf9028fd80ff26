// /v1/users/me: the caller's profile and picture.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import type { User } from "../../domain/accounts.ts";
import { unknownCaller } from "../../domain/errors.ts";
import type { UserPrincipal } from "../../plugins/auth.ts";
import { readImagePart } from "../../plugins/uploads.ts";
import { profileView } from "./views.ts";

export default async function userRoutes(app: FastifyInstance) {
  const { accounts } = app.services;
  const profile = profileView(app.services.media);

  /** The caller's whole account (the security hook read only its role). */
  async function callerAccount(caller: UserPrincipal): Promise<User> {
    const user = await accounts.byId(caller.id);
    // Gone only when deleted since the security hook resolved the caller: the same refusal.
    if (!user) throw unknownCaller();
    return user;
  }

  implement(app, "getMyProfile", async (req) => profile(await callerAccount(req.principal)));

  implement(app, "updateMyProfile", async (req) => {
    const me = await callerAccount(req.principal);
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
      const image = await readImagePart(req, app.config.maxImageBytes, "avatar");
      return profile(await accounts.setProfileImage(req.principal.id, image, "avatar", "avatar"));
    },
  );
}
