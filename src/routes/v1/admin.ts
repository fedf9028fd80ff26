// /v1/admin: account administration, role admin only (the account's current role, so a demoted
// admin loses access at once, not when the token expires: see src/plugins/auth.ts).
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { AppError } from "../../domain/errors.ts";
import { pathId } from "../../domain/ids.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { requireRole } from "../../plugins/auth.ts";
import { pageView, profileView } from "./views.ts";

export default async function adminRoutes(app: FastifyInstance) {
  const { accounts } = app.services;
  const profile = profileView(app.services.media);

  implement(app, "listUsers", async (req) => {
    requireRole(req.principal, "admin");
    return pageView(await accounts.page({ limit: pageLimit(req.query.limit), cursor: req.query.cursor }), profile);
  });

  implement(app, "setUserRole", async (req) => {
    requireRole(req.principal, "admin");
    const id = pathId(req.params.id);
    if (id === req.principal.id) throw new AppError("conflict", { role: "an admin cannot change their own role" });
    return profile(await accounts.setRole(id, req.body.role));
  });
}
