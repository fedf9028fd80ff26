// Prometheus metrics (METRICS_PORT, METRICS_HOST), served at GET /metrics on a listener of their
// own: an operator's port, outside the API and its document (the API's port answers /metrics with
// its usual 404). Every request is counted by its operation's id; a route outside the document
// (Swagger UI, CORS preflight) counts as "other" and an unmatched request as "unmatched", so the
// labels stay bounded whatever URLs are asked. app.metrics is the Metrics port the domain, the mail
// queue and the rate limits count through. Off (no METRICS_PORT), it counts nothing, and neither
// prom-client nor any hook is loaded.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import fp from "fastify-plugin";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { noMetrics, type Metrics } from "../domain/ports/metrics.ts";

export interface AppMetrics extends Metrics {
  /** This app's Prometheus registry; null when metrics are off. */
  registry: Registry | null;
  /** Where GET /metrics is served, once the app is ready; null when metrics are off or the listener is closed. */
  address(): AddressInfo | null;
}

declare module "fastify" {
  interface FastifyInstance {
    metrics: AppMetrics;
  }
}

export interface MetricsOptions {
  /** The metrics listener (config.metrics); undefined: metrics are off. */
  listen: { port: number; host: string } | undefined;
}

export default fp(
  async function metricsPlugin(app: FastifyInstance, opts: MetricsOptions) {
    const listen = opts.listen;
    if (!listen) {
      app.decorate("metrics", { ...noMetrics, registry: null, address: () => null });
      return;
    }
    const { prometheusMetrics } = await import("../adapters/metrics/prometheus.ts");
    // Read at scrape time: the services are built after this plugin is registered.
    const prometheus = prometheusMetrics(
      {
        openSockets: () => app.services.signaling.size,
        activeCalls: () => app.services.calls.activeCount(),
        tickerLagSeconds: () => app.services.billing.lagSeconds(),
      },
      (err, gauge) => app.log.warn({ err }, `metrics: ${gauge} could not be read`),
    );

    // Synchronous, as every hook each request runs (see app.ts).
    app.addHook("onResponse", (req, reply, done) => {
      prometheus.request(req.routeOptions.config.operationId ?? (req.is404 ? "unmatched" : "other"), reply.statusCode, reply.elapsedTime / 1000);
      done();
    });

    const server = createServer((req, res) => {
      if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found: GET /metrics\n");
        return;
      }
      prometheus.scrape().then(
        ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
        (err: unknown) => {
          app.log.error({ err }, "metrics: scrape failed");
          res.writeHead(500).end();
        },
      );
    });
    const address = () => (server.listening ? (server.address() as AddressInfo) : null);
    // Started with the app (app.ready(), which listen() runs too): an app that only answers inject() is scraped as well.
    app.addHook("onReady", async () => {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(listen.port, listen.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      const { address: host, port } = address()!;
      app.log.info({ host, port }, `metrics served at http://${host.includes(":") ? `[${host}]` : host}:${port}/metrics`);
    });
    // Before the database closes: a scrape under way finishes; the connections scrapers keep alive
    // between scrapes are closed with the listener (Node closes idle connections on close()).
    app.addHook("onClose", async () => {
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    });
    app.decorate("metrics", { ...prometheus.port, registry: prometheus.registry, address });
  },
  { name: "metrics" },
);
