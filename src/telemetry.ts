// OpenTelemetry traces, exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set. The entry
// point imports this module only then, and starts it before the service's own modules load, so that
// http, pg and ioredis are instrumented when they are first loaded.
import { register } from "node:module";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { FastifyOtelInstrumentation } from "@fastify/otel";
import type { Config } from "./config.ts";
import { PERSONAL_QUERY_PARAMS, SECRET_QUERY_PARAMS } from "./http/logging.ts";

export interface Telemetry {
  /** Exports the spans still queued and stops the SDK. */
  shutdown(): Promise<void>;
}

export function startTelemetry(otel: NonNullable<Config["otel"]>): Telemetry {
  // The instrumentations patch packages as `require` loads them. ioredis is imported as an ES
  // module (src/adapters/redis.ts), which `require` never sees: the import hook patches it, and
  // only it (every other module loads as before). pg needs no hook: its client class is loaded by
  // pg's own `require`, even when pg itself is imported.
  register("@opentelemetry/instrumentation/hook.mjs", import.meta.url, { data: { include: ["ioredis"] } });
  const sdk = new NodeSDK({
    serviceName: otel.serviceName,
    // OTLP/HTTP with JSON bodies, at the signal's path under the base endpoint (as the OTLP
    // exporter specification derives it from OTEL_EXPORTER_OTLP_ENDPOINT). A collector that does
    // not answer holds the shutdown 5 s at most (the process allows itself 10).
    traceExporter: new OTLPTraceExporter({ url: `${otel.endpoint}/v1/traces`, timeoutMillis: 5000 }),
    // Traces only: the SDK would otherwise start OTLP metric and log exporters of its own.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // A credential in a query (the signaling socket's ?token=), or a phone number (Vonage's answer
      // webhook), is exported as REDACTED.
      new HttpInstrumentation({ requireParentforOutgoingSpans: true, redactedQueryParamsServer: [...SECRET_QUERY_PARAMS, ...PERSONAL_QUERY_PARAMS] }),
      // Spans inside a request only: the background work (heartbeat, billing ticks) queries every
      // second and would fill the collector with one-span traces.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      // Registers itself on each Fastify instance as it is created, before any hook or route: a
      // span per request and one for its handler, each with the route. Not one per hook: they are
      // many and quick, and named after the plugin that was registering rather than the hook.
      // Its url.path is the path alone (it would be the URL with its query, credentials included).
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        requestHook: (span, request) => span.setAttribute("url.path", request.url.split("?")[0]!),
      }),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
