// Call links (docs/calls.md, "Call links"): CRUD for hosts, and the public resolution a guest sees.
import type { FastifyInstance } from "fastify";
import type { components } from "../../contract/generated/api.d.ts";
import { implement } from "../../contract/routes.ts";
import { AppError } from "../../domain/errors.ts";
import { pathId } from "../../domain/ids.ts";
import { unavailableReason, type LinkTerms, type NewLinkTerms } from "../../domain/links.ts";
import { parseCents } from "../../domain/money.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { requireRole } from "../../plugins/auth.ts";
import { linkResolutionView, linkView, pageView } from "./views.ts";

type LinkRequest = components["schemas"]["UpdateLinkRequest"];

/**
 * A create or update body as the domain's terms; only the fields given. What cannot be read (an
 * amount with a leading zero, an impossible date) goes in as NaN or an Invalid Date, for the
 * domain's rules to report with the rest.
 */
function termsOf(body: components["schemas"]["CreateLinkRequest"]): NewLinkTerms;
function termsOf(body: LinkRequest): LinkTerms;
function termsOf(body: LinkRequest): LinkTerms {
  const date = (v: string | null) => (v === null ? null : new Date(v));
  const t: LinkTerms = {};
  if (body.rate_per_minute !== undefined) t.rateCents = parseCents(body.rate_per_minute) ?? NaN;
  if (body.window_size_minutes !== undefined) t.windowMinutes = body.window_size_minutes;
  if (body.expires_at !== undefined) t.expiresAt = date(body.expires_at);
  if (body.max_uses !== undefined) t.maxUses = body.max_uses;
  if (body.label !== undefined) t.label = body.label;
  if (body.scheduled_start !== undefined) t.scheduledStart = date(body.scheduled_start);
  if (body.scheduled_end !== undefined) t.scheduledEnd = date(body.scheduled_end);
  if (body.is_active !== undefined) t.isActive = body.is_active;
  return t;
}

/**
 * What a guest sees of the link with this code (resolveLink, and the guest page, which renders the
 * same), or null when no link has it.
 */
export function linkResolver(app: FastifyInstance) {
  const { links, connect, media } = app.services;
  const resolution = linkResolutionView(app.config.publicUrl, media);
  return async (shortCode: string) => {
    const link = await links.byShortCode(shortCode);
    if (!link) return null;
    const host = await app.db.user.findUniqueOrThrow({ where: { id: link.hostId } });
    const reason = unavailableReason(link, app.clock.now()) ?? ((await connect.canCharge(link.hostId)) ? null : "payments_disabled");
    return resolution(link, host, reason);
  };
}

export default async function linkRoutes(app: FastifyInstance) {
  const { links, calls, connect } = app.services;
  const view = linkView(app.config.publicUrl);
  const resolve = linkResolver(app);

  implement(app, "createLink", async (req, reply) => {
    requireRole(req.principal, "host");
    // With the stripe provider a host takes calls only once charges are enabled on their account.
    await connect.requireCharges(req.principal.id);
    const link = await links.create(req.principal.id, termsOf(req.body));
    return reply.code(201).send({ link: view(link) });
  });

  implement(app, "listLinks", async (req) => {
    requireRole(req.principal, "host");
    const { active, limit, cursor } = req.query;
    return pageView(await links.list(req.principal.id, { active, limit: pageLimit(limit), cursor }), view);
  });

  implement(app, "getLink", async (req) => {
    requireRole(req.principal, "host");
    return { link: view(await links.owned(req.principal.id, pathId(req.params.id))) };
  });

  implement(app, "updateLink", async (req) => {
    requireRole(req.principal, "host");
    if (req.body.is_active === true) await connect.requireCharges(req.principal.id);
    const link = await links.update(req.principal.id, pathId(req.params.id), termsOf(req.body));
    // Turned off: as with DELETE, calls still waiting for the host are cancelled and their holds released.
    if (req.body.is_active === false) await calls.cancelWaitingOnLink(link.id);
    return { link: view(link) };
  });

  implement(app, "deleteLink", async (req) => {
    requireRole(req.principal, "host");
    const link = await links.deactivate(req.principal.id, pathId(req.params.id));
    await calls.cancelWaitingOnLink(link.id);
    return { link: view(link) };
  });

  implement(app, "resolveLink", async (req) => {
    const found = await resolve(req.params.short_code);
    if (!found) throw new AppError("link_not_found");
    return found;
  });
}
