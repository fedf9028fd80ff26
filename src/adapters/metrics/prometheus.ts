// The metrics port on prom-client: a counter for each thing the service reports, requests by
// operation (a count by status class and a latency histogram), gauges read when scraped, and the
// process's own metrics. Each app has its own registry (a test process runs several apps); the
// process's metrics are one set per process (processRegistry).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Metrics } from "../../domain/ports/metrics.ts";

/** What the gauges show, read at each scrape. */
export interface GaugeSources {
  /** Signaling sockets open on this instance. */
  openSockets(): number;
  /** Active calls, on every instance (one database count). */
  activeCalls(): Promise<number>;
  /** The billing schedule's lag in seconds, on every instance (one database query). */
  tickerLagSeconds(): Promise<number>;
}

export interface PrometheusMetrics {
  /** The counters behind the Metrics port. */
  port: Metrics;
  /** This app's registry. */
  registry: Registry;
  /** One answered request: its operation ("unmatched", "other" outside the document), status and duration. */
  request(operation: string, status: number, seconds: number): void;
  /** A scrape's text and content type: this app's series and the process's. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/** From 5 ms (a cached read) to 10 s (an end request waits up to 5 s for the settlement). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let processRegistry: Registry | undefined;
/**
 * CPU, memory, event loop, GC and handles: once per process, however many apps it runs. prom-client
 * collects some of them with a GC observer and an event-loop delay monitor that it gives no way to
 * stop (they hold nothing open): one set per app would pile up in a test process.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** `onError`: a gauge's source failed (the database is down); the gauge shows NaN for that scrape. */
export function prometheusMetrics(sources: GaugeSources, onError: (err: unknown, gauge: string) => void): PrometheusMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: "vidivo_http_requests_total",
    help: "HTTP requests answered, by operation (openapi.yaml operationId) and status class.",
    labelNames: ["operation", "status_class"] as const,
    registers,
  });
  const latency = new Histogram({
    name: "vidivo_http_request_duration_seconds",
    help: "Time to answer an HTTP request, by operation.",
    labelNames: ["operation"] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const callsFinished = new Counter({
    name: "vidivo_calls_finished_total",
    help: "Calls that reached their final status, by status and end reason.",
    labelNames: ["status", "reason"] as const,
    registers,
  });
  const holds = new Counter({ name: "vidivo_holds_total", help: "Hold requests to the payment provider, by outcome.", labelNames: ["outcome"] as const, registers });
  const captures = new Counter({ name: "vidivo_captures_total", help: "Capture requests to the payment provider, by outcome.", labelNames: ["outcome"] as const, registers });
  const capturedCents = new Counter({ name: "vidivo_captured_cents_total", help: "Amount captured, in cents.", registers });
  const webhookEvents = new Counter({
    name: "vidivo_webhook_events_total",
    help: "Payment provider webhook deliveries, by event type and outcome.",
    labelNames: ["type", "outcome"] as const,
    registers,
  });
  const mailsQueued = new Counter({ name: "vidivo_mails_queued_total", help: "Mails queued for delivery.", registers });
  const mailsFailed = new Counter({ name: "vidivo_mails_failed_total", help: "Mails whose delivery failed.", registers });
  const rateLimited = new Counter({ name: "vidivo_rate_limited_total", help: "Requests refused by a rate-limit policy (429), by policy.", labelNames: ["policy"] as const, registers });
  // Every outcome from the start, so that a rate over them (failures over all) has a series before the first failure.
  for (const outcome of ["placed", "declined", "action_required", "failed"]) holds.inc({ outcome }, 0);
  for (const outcome of ["captured", "failed", "expired"]) captures.inc({ outcome }, 0);

  const read = (gauge: string, source: () => Promise<number>) =>
    source().catch((err: unknown) => {
      onError(err, gauge);
      return Number.NaN;
    });
  new Gauge({
    name: "vidivo_websocket_connections",
    help: "Signaling WebSocket connections open on this instance.",
    registers,
    collect() {
      this.set(sources.openSockets());
    },
  });
  new Gauge({
    name: "vidivo_calls_active",
    help: "Calls in progress, on every instance (read from the database).",
    registers,
    async collect() {
      this.set(await read("vidivo_calls_active", sources.activeCalls));
    },
  });
  new Gauge({
    name: "vidivo_billing_ticker_lag_seconds",
    help: "Age of the oldest billing step that is due and not done (0 when none is); shared by every instance.",
    registers,
    async collect() {
      this.set(await read("vidivo_billing_ticker_lag_seconds", sources.tickerLagSeconds));
    },
  });

  return {
    registry,
    port: {
      callFinished: (status, reason) => callsFinished.inc({ status, reason }),
      hold: (outcome) => holds.inc({ outcome }),
      capture: (outcome, amountCents) => {
        captures.inc({ outcome });
        if (amountCents > 0) capturedCents.inc(amountCents);
      },
      webhookEvent: (type, outcome) => webhookEvents.inc({ type, outcome }),
      mail: (outcome) => (outcome === "queued" ? mailsQueued : mailsFailed).inc(),
      rateLimited: (policy) => rateLimited.inc({ policy }),
    },
    request(operation, status, seconds) {
      requests.inc({ operation, status_class: `${Math.floor(status / 100)}xx` });
      latency.observe({ operation }, seconds);
    },
    async scrape() {
      // Merged at each scrape: a metric registered on this app's registry later is served too.
      const served = Registry.merge([processMetrics(), registry]);
      return { contentType: served.contentType, body: await served.metrics() };
    },
  };
}
