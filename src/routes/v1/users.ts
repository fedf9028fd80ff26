// /v1/users/me: the caller's profile and picture.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import type { ProfilePatch } from "../../domain/accounts.ts";
import { readImagePart } from "../../http/uploads.ts";
import { profileView } from "./views.ts";

export default async function userRoutes(app: FastifyInstance) {
  const { accounts } = app.services;
  const profile = profileView(app.services.media);

  // The caller's account is the row the security hook read for this request.
  implement(app, "getMyProfile", async (req) => profile(req.principal.account));

  implement(app, "updateMyProfile", async (req) => {
    const me = req.principal.account;
    const { display_name, username, bio, language, notification_preferences: prefs } = req.body;
    const patch: ProfilePatch = {
      ...(display_name !== undefined ? { displayName: display_name } : {}),
      ...(username !== undefined ? { username } : {}),
      ...(bio !== undefined ? { bio } : {}),
      ...(language !== undefined ? { language } : {}),
      ...(prefs?.email_incoming_call !== undefined ? { emailIncomingCall: prefs.email_incoming_call } : {}),
      ...(prefs?.email_receipts !== undefined ? { emailReceipts: prefs.email_receipts } : {}),
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
