// /v1/users/me: the caller's profile and picture, the export of their data, and the deletion of their account.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import type { ProfilePatch } from "../../domain/accounts.ts";
import { isAppError, unknownCaller } from "../../domain/errors.ts";
import { readImagePart } from "../../http/uploads.ts";
import { accountExportView, profileView } from "./views.ts";

export default async function userRoutes(app: FastifyInstance) {
  const { accounts, personalData } = app.services;
  const profile = profileView(app.services.media);
  const exportView = accountExportView(app.config.publicUrl, app.services.media);

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

  implement(app, "deleteMyAccount", async (req, reply) => {
    const me = req.principal;
    await personalData.confirmOwner(me.account, req.body?.password, me.token.signedInAt);
    try {
      await personalData.erase(me.id, { actor: { kind: "user", id: me.id }, by: "self", requestId: req.id });
    } catch (err) {
      // Deleted since the token was checked (a double submit): the token names no account now,
      // as at any later request.
      if (isAppError(err) && err.code === "not_found") throw unknownCaller();
      throw err;
    }
    return reply.status(204).send();
  });

  implement(app, "exportMyData", async (req) => exportView(await personalData.exportOf(req.principal.id), new Date(app.clock.now())));
}
