// Requests no route matches. A path some route serves, asked with another method, is 405 with
// `Allow`; anything else is 404. Each is answered in the format of the surface the path belongs to
// (the V-app's paths in its shape, everything else in the v1 envelope: the contract's surfaceOf)
// and counts against the per-IP `anonymous` limit like any other unauthenticated request.
import fp from "fastify-plugin";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "../domain/errors.ts";

export type ErrorRenderer = (error: unknown, req: FastifyRequest, reply: FastifyReply) => unknown;

export interface NotFoundOptions {
  /** Every route registered, as recorded by the app's onRoute hook (complete once the app is ready). */
  routes: { method: string; url: string }[];
  /** The error renderer of the surface a request path belongs to. */
  rendererFor(path: string): ErrorRenderer;
}

/** A Fastify route URL (`/v1/links/:id`, `/docs/*`) as a regular expression over request paths. */
function pattern(url: string): RegExp {
  const source = url
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => (part === "*" ? ".*" : part.startsWith(":") ? "[^/]+" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`);
}

export default fp(
  async function notFoundPlugin(app: FastifyInstance, opts: NotFoundOptions) {
    let table: { re: RegExp; method: string }[] | undefined;
    const methodsFor = (path: string) => {
      // The CORS plugin's catch-all OPTIONS route matches every path; it says nothing about a path.
      table ??= opts.routes.filter((r) => r.url !== "*" && r.url !== "/*").map((r) => ({ re: pattern(r.url), method: r.method }));
      return [...new Set(table.filter((r) => r.re.test(path)).map((r) => r.method))].sort();
    };
    const limit = app.rateLimiter("anonymous");

    // An unmatched request's body is never read: whatever it holds (broken JSON, a body over the
    // limit), the answer is the 404/405 below. Fastify hands a 404 request whose content type has
    // no parser straight to the handler, so the type is dropped before parsing would begin.
    app.addHook("onRequest", (req, _reply, done) => {
      if (req.is404) delete req.headers["content-type"];
      done();
    });

    app.setNotFoundHandler(async (req, reply) => {
      const path = req.url.split("?")[0]!;
      const render = opts.rendererFor(path);
      try {
        await limit?.(req, reply);
      } catch (err) {
        return render(err, req, reply);
      }
      const allowed = methodsFor(path);
      // A route that exists for this method but found nothing (a handler's callNotFound) is a 404.
      if (allowed.length === 0 || allowed.includes(req.method)) return render(new AppError("not_found"), req, reply);
      reply.header("allow", allowed.join(", "));
      return render(new AppError("method_not_allowed"), req, reply);
    });
  },
  { name: "not-found", dependencies: ["rate-limit"] },
);
