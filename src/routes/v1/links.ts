// Call links (docs/calls.md, "Call links"): CRUD for hosts, and the public resolution a guest sees.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { AppError } from "../../domain/errors.ts";
import { fromUlid, toUlid } from "../../domain/ids.ts";
import { unavailableReason } from "../../domain/links.ts";
import { formatCents } from "../../domain/money.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { requireRole } from "../../plugins/auth.ts";

export default async function linkRoutes(app: FastifyInstance) {
  const { links, calls, connect } = app.services;
  const linkId = (id: string) => fromUlid(id) ?? "00000000-0000-0000-0000-000000000000";

  implement(app, "createLink", async (req, reply) => {
    requireRole(req.principal, "host");
    // With the stripe provider a host takes calls only once charges are enabled on their account.
    await connect.requireCharges(req.principal.id);
    const link = await links.create(req.principal.id, req.body);
    return reply.code(201).send({ link: links.render(link) });
  });

  implement(app, "listLinks", async (req) => {
    requireRole(req.principal, "host");
    const { active, limit, cursor } = req.query;
    return links.list(req.principal.id, { active, limit: pageLimit(limit), cursor });
  });

  implement(app, "getLink", async (req) => {
    requireRole(req.principal, "host");
    return { link: links.render(await links.owned(req.principal.id, linkId(req.params.id))) };
  });

  implement(app, "updateLink", async (req) => {
    requireRole(req.principal, "host");
    if (req.body.is_active === true) await connect.requireCharges(req.principal.id);
    const link = await links.update(req.principal.id, linkId(req.params.id), req.body);
    // Turned off: as with DELETE, calls still waiting for the host are cancelled and their holds released.
    if (req.body.is_active === false) await calls.cancelWaitingOnLink(link.id);
    return { link: links.render(link) };
  });

  implement(app, "deleteLink", async (req) => {
    requireRole(req.principal, "host");
    const link = await links.deactivate(req.principal.id, linkId(req.params.id));
    await calls.cancelWaitingOnLink(link.id);
    return { link: links.render(link) };
  });

  implement(app, "resolveLink", async (req) => {
    const link = await links.byShortCode(req.params.short_code);
    if (!link) throw new AppError("link_not_found");
    const host = await app.db.user.findUniqueOrThrow({ where: { id: link.hostId } });
    const reason = unavailableReason(link, app.clock.now()) ?? ((await connect.canCharge(link.hostId)) ? null : "payments_disabled");
    const rendered = links.render(link);
    return {
      short_code: link.shortCode,
      url: rendered.url,
      host: { id: toUlid(host.id), display_name: host.displayName, avatar_url: app.services.media.urlOrNull(host.imageKey) },
      rate_per_minute: formatCents(link.rateCents),
      window_size_minutes: link.windowMinutes,
      label: link.label,
      scheduled_start: rendered.scheduled_start,
      scheduled_end: rendered.scheduled_end,
      available: reason === null,
      unavailable_reason: reason,
    };
  });
}
