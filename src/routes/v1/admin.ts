// /v1/admin: account administration, role admin only. The role is checked in the access token and
// again against the account (a demoted admin loses access at once, not when the token expires).
import type { FastifyInstance, FastifyRequest } from "fastify";
import { implement } from "../../contract/routes.ts";
import { AppError } from "../../domain/errors.ts";
import { fromUlid } from "../../domain/ids.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { requireRole } from "../../plugins/auth.ts";
import { callerAccount } from "./users.ts";
import { profileView } from "./views.ts";

export default async function adminRoutes(app: FastifyInstance) {
  const { accounts } = app.services;
  const profile = profileView(app.services.media);

  async function requireAdmin(req: FastifyRequest) {
    requireRole(req.principal, "admin");
    const me = await callerAccount(app, req);
    if (me.role !== "admin") throw new AppError("forbidden");
    return me;
  }

  implement(app, "listUsers", async (req) => {
    await requireAdmin(req);
    const page = await accounts.page({ limit: pageLimit(req.query.limit), cursor: req.query.cursor });
    return { data: page.data.map(profile), pagination: page.pagination };
  });

  implement(app, "setUserRole", async (req) => {
    const me = await requireAdmin(req);
    const id = fromUlid(req.params.id);
    if (!id) throw new AppError("not_found");
    if (id === me.id) throw new AppError("conflict", { role: "an admin cannot change their own role" });
    return profile(await accounts.setRole(id, req.body.role));
  });
}
