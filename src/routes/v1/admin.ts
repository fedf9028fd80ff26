// /v1/admin: account administration and the audit log, role admin only (the account's current
// role, so a demoted admin loses access at once, not when the token expires: see
// src/plugins/auth.ts).
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { AppError } from "../../domain/errors.ts";
import { fromUlid, pathId } from "../../domain/ids.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { requireRole } from "../../plugins/auth.ts";
import { auditEntryView, pageView, profileView } from "./views.ts";

export default async function adminRoutes(app: FastifyInstance) {
  const { accounts, audit } = app.services;
  const profile = profileView(app.services.media);

  implement(app, "listUsers", async (req) => {
    requireRole(req.principal, "admin");
    return pageView(await accounts.page({ limit: pageLimit(req.query.limit), cursor: req.query.cursor }), profile);
  });

  implement(app, "setUserRole", async (req) => {
    requireRole(req.principal, "admin");
    const id = pathId(req.params.id);
    if (id === req.principal.id) throw new AppError("conflict", { role: "an admin cannot change their own role" });
    return profile(await accounts.setRole(id, req.body.role, { actor: { kind: "user", id: req.principal.id }, requestId: req.id }));
  });

  implement(app, "deleteUser", async (req, reply) => {
    requireRole(req.principal, "admin");
    const id = pathId(req.params.id);
    if (id === req.principal.id) throw new AppError("conflict", { id: "is your own account: delete it with DELETE /v1/users/me" });
    // The admin confirms, as an owner deleting their own account does: an admin's token alone
    // (a stolen one, a session left open) deletes nobody. The operation spends the login budget
    // (openapi.yaml): the token cannot be used to guess the password faster than a login could.
    await app.services.personalData.confirmOwner(req.principal.account, req.body?.password, req.principal.token.signedInAt);
    await app.services.personalData.erase(id, { actor: { kind: "user", id: req.principal.id }, by: "admin", requestId: req.id });
    return reply.status(204).send();
  });

  implement(app, "listAuditLog", async (req) => {
    requireRole(req.principal, "admin");
    const { action, target_id: targetId } = req.query;
    const page = await audit.page({
      limit: pageLimit(req.query.limit),
      cursor: req.query.cursor,
      action,
      // Accounts and payments are named by ULID outside, UUID inside; a key by its kid.
      targetId: targetId === undefined ? undefined : (fromUlid(targetId) ?? targetId),
    });
    return pageView(page, auditEntryView);
  });
}
