// The reference web client (docs/web.md): the guest page every link's url opens, the host console,
// and their bundled scripts and stylesheet. The pages are HTML from src/web/pages.ts; everything
// they do after loading goes through the API, with a client generated from openapi.yaml.
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Config } from "../config.ts";
import { implement } from "../contract/routes.ts";
import { AppError } from "../domain/errors.ts";
import { MEDIA_CACHE_CONTROL } from "../domain/ports/storage.ts";
import { webAssets, webClientMissing, type PageAssets } from "../web/assets.ts";
import { guestPage, hostPage, unavailablePage, type PagePayments } from "../web/pages.ts";
import { linkResolver } from "./v1/links.ts";

/** Stripe.js and what it loads (https://docs.stripe.com/security/guide#content-security-policy). */
const STRIPE = {
  script: ["https://js.stripe.com", "https://*.js.stripe.com"],
  frame: ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"],
  connect: ["https://api.stripe.com"],
};

/**
 * The pages' Content-Security-Policy: scripts, styles and connections (the API, the signaling
 * socket) from this origin only; pictures also from where they are stored. Nothing inline. (Video
 * needs nothing: a MediaStream set as a <video>'s srcObject is not a load the policy governs.)
 * With the stripe provider, Stripe.js and its frames.
 */
export function pagePolicy(config: Config): string {
  const stripe = config.payments.provider === "stripe";
  const pictures = new Set(["'self'", "data:", new URL(config.publicUrl).origin]);
  if (config.storage.driver === "s3" && config.storage.publicUrl) pictures.add(new URL(config.storage.publicUrl).origin);
  const directives: [string, string[]][] = [
    ["default-src", ["'none'"]],
    ["script-src", ["'self'", ...(stripe ? STRIPE.script : [])]],
    ["style-src", ["'self'"]],
    ["img-src", [...pictures]],
    ["connect-src", ["'self'", ...(stripe ? STRIPE.connect : [])]],
    ...(stripe ? [["frame-src", STRIPE.frame] as [string, string[]]] : []),
    ["form-action", ["'self'"]],
    ["base-uri", ["'none'"]],
    ["frame-ancestors", ["'none'"]],
  ];
  return directives.map(([name, sources]) => `${name} ${sources.join(" ")}`).join("; ");
}

export default async function webRoutes(app: FastifyInstance) {
  // A compiled server without its bundle (a build that skipped scripts/copy-assets.mjs) would
  // answer every page with a 500: it does not start instead.
  const missing = webClientMissing();
  if (missing) throw new Error(missing);
  const resolve = linkResolver(app);
  const policy = pagePolicy(app.config);
  const shortCode = new RegExp((app.contract.document as { components: { schemas: { ShortCode: { pattern: string } } } }).components.schemas.ShortCode.pattern);
  // Behind a proxy that serves the API under a path (PUBLIC_URL https://example.org/calls, say),
  // the pages name their assets under it too (the scripts find the API from their own URL).
  const basePath = new URL(app.config.publicUrl).pathname.replace(/\/$/, "");
  const under = (a: PageAssets): PageAssets => ({ script: basePath + a.script, stylesheet: basePath + a.stylesheet });
  const payments: PagePayments = {
    provider: app.config.payments.provider,
    publishable_key: app.config.payments.stripePublishableKey ?? null,
  };
  const page = (reply: FastifyReply, status: 200 | 404 | 410, html: string) =>
    reply
      .code(status)
      .type("text/html; charset=utf-8")
      .header("content-security-policy", policy)
      // The guest page shows what a link is now (its availability changes): never a stale copy.
      .header("cache-control", "no-store")
      .send(html);

  implement(app, "getGuestPage", async (req, reply) => {
    const { short_code } = req.params;
    const [link, { guest }] = await Promise.all([shortCode.test(short_code) ? resolve(short_code) : null, webAssets()]);
    if (!link) return page(reply, 404, unavailablePage(null, under(guest)));
    if (!link.available) return page(reply, 410, unavailablePage(link, under(guest)));
    return page(reply, 200, guestPage(link, under(guest), payments));
  });

  implement(app, "getHostConsole", async (_req, reply) => page(reply, 200, hostPage(under((await webAssets()).host))));

  implement(app, "getWebAsset", async (req, reply) => {
    const asset = (await webAssets()).files.get(req.params.file);
    if (!asset) throw new AppError("not_found");
    return reply.type(asset.contentType).header("cache-control", MEDIA_CACHE_CONTROL).code(200).send(asset.body);
  });
}
