// Spans for the embedded database's statements: PGlite runs in this process, with no driver for an
// instrumentation to patch, so the handle that Prisma's adapter and the raw SQL session share is
// wrapped instead. Spans are made through @opentelemetry/api, which does nothing until the SDK is
// started (src/telemetry.ts), and only inside a span (a request), as pg's are: the background
// work's statements are left out.
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { PGlite } from "@electric-sql/pglite";

const tracer = trace.getTracer("vidivo.pglite");

type Run = (sql: string, ...rest: unknown[]) => Promise<unknown>;
type Statements = Pick<PGlite, "query" | "exec">;

/** Runs each statement in a span of its own while a span is active (cheap otherwise: one look-up). */
function traced(run: Run): Run {
  return (sql, ...rest) => (trace.getActiveSpan() ? inSpan(sql, () => run(sql, ...rest)) : run(sql, ...rest));
}

/** The statement's span: named and described as instrumentation-pg's are, without parameter values. */
async function inSpan(sql: string, run: () => Promise<unknown>): Promise<unknown> {
  const operation = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? "QUERY";
  const span = tracer.startSpan(`pglite.query:${operation}`, {
    kind: SpanKind.CLIENT,
    attributes: { "db.system.name": "postgresql", "db.operation.name": operation, "db.query.text": sql },
  });
  try {
    return await run();
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

/** `pglite` (or one of its transactions) with a span for each `query` and `exec`, in or out of a transaction. */
export function tracedPglite<T extends Statements>(pglite: T): T {
  const methods = new Map<PropertyKey, unknown>();
  return new Proxy(pglite, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      let method = methods.get(prop);
      if (!method) {
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        method =
          prop === "query" || prop === "exec"
            ? traced(bound as Run)
            : prop === "transaction"
              ? (fn: (tx: Statements) => unknown, ...rest: unknown[]) => bound((tx: Statements) => fn(tracedPglite(tx)), ...rest)
              : bound;
        methods.set(prop, method);
      }
      return method;
    },
  });
}
