// The one spec-assertion helper: every response the suite produces (inject or real HTTP) is
// checked against openapi.yaml — status declared, content type, body schema, declared headers.
import { Readable } from "node:stream";
import { isDeepStrictEqual } from "node:util";
import zlib from "node:zlib";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Contract } from "../../src/contract/spec.ts";

type Json = Record<string, any>;

const ajv = addFormats.default(new Ajv2020.default({ allErrors: true, strict: false }));
const validators = new WeakMap<object, ReturnType<typeof ajv.compile>>();
function validatorFor(schema: object) {
  let v = validators.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    validators.set(schema, v);
  }
  return v;
}

/**
 * Problems of one value against a schema of the document (the validator every check here uses:
 * JSON Schema 2020-12, formats asserted), one line per issue; empty when it conforms.
 */
export function schemaProblems(schema: object, value: unknown): string[] {
  const validate = validatorFor(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "(root)"} ${e.message ?? "is invalid"}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ""}`);
}

export interface ResponseRecord {
  method: string;
  url: string;
  status: number;
  headers: Record<string, unknown>;
  body: unknown;
}

/** Problems with one response, empty when it conforms. */
export function checkResponse(contract: Contract, operationSpec: Json | undefined, res: ResponseRecord): string[] {
  const problems: string[] = [];
  const where = `${res.method} ${res.url} → ${res.status}`;
  if (!operationSpec) return [`${where}: no operation in openapi.yaml`];
  const responses = operationSpec.responses as Json;
  const declared = responses[String(res.status)] ?? responses[`${String(res.status)[0]}XX`] ?? responses.default;
  if (!declared) return [`${where}: status not declared (declared: ${Object.keys(responses).join(", ")})`];

  const contentType = String(res.headers["content-type"] ?? "").split(";")[0]!.trim();
  const content = declared.content as Json | undefined;
  if (content) {
    const media = content[contentType];
    if (!media) problems.push(`${where}: content type "${contentType}" not declared (${Object.keys(content).join(", ")})`);
    else if (contentType === "application/json" && media.schema) {
      let parsed: unknown;
      try {
        parsed = typeof res.body === "string" || Buffer.isBuffer(res.body) ? JSON.parse(String(res.body)) : undefined;
      } catch {
        problems.push(`${where}: body is not JSON`);
      }
      if (parsed !== undefined) {
        const validate = validatorFor(media.schema);
        if (!validate(parsed)) problems.push(`${where}: body ${ajv.errorsText(validate.errors)} in ${JSON.stringify(parsed).slice(0, 400)}`);
      }
    }
  } else if (res.body !== undefined && res.body !== null && String(res.body).length > 0) {
    problems.push(`${where}: a body was sent but the response declares none`);
  }

  for (const [name, header] of Object.entries((declared.headers ?? {}) as Json)) {
    const value = res.headers[name.toLowerCase()];
    if (value === undefined) {
      if (header.required) problems.push(`${where}: required header ${name} missing`);
      continue;
    }
    const schema = header.schema as Json | undefined;
    if (schema) {
      const typed = schema.type === "integer" || schema.type === "number" ? Number(value) : String(value);
      const validate = validatorFor(schema);
      if (!validate(typed)) problems.push(`${where}: header ${name}=${String(value)} ${ajv.errorsText(validate.errors)}`);
    }
  }
  return problems;
}

/**
 * A request the service took (a 2xx) must be one the document takes: a client that validates its
 * requests against the document, or a validating proxy, never refuses what the service accepts.
 * `body`: the JSON body as it arrived.
 */
export function checkRequest(operationSpec: Json | undefined, req: { method: string; url: string; status: number; body: unknown }): string[] {
  const schema = operationSpec?.requestBody?.content?.["application/json"]?.schema as object | undefined;
  if (!schema || req.body === undefined || req.status >= 300) return [];
  const validate = validatorFor(schema);
  if (validate(req.body)) return [];
  return [`${req.method} ${req.url} → ${req.status}: the service took a body the document refuses (${ajv.errorsText(validate.errors)}): ${JSON.stringify(req.body).slice(0, 300)}`];
}

/**
 * How the body sent differs from the object the handler answered with (as JSON.stringify writes
 * it). The serializer writes only what the response schema describes: a field the handler added
 * and the schema lacks would otherwise vanish without a trace, and a value of another type be coerced.
 */
export function replyProblems(where: string, replied: unknown, sent: unknown): string[] {
  const problems: string[] = [];
  const walk = (a: unknown, b: unknown, at: string) => {
    if (problems.length >= 5) return;
    if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
      for (const [k, v] of Object.entries(a)) {
        if (Object.hasOwn(b, k)) walk(v, (b as Json)[k], `${at}/${k}`);
        else problems.push(`${where}: the handler's ${at}/${k} was not sent (the response schema does not describe it)`);
      }
    } else if (!isDeepStrictEqual(a, b)) {
      problems.push(`${where}: the handler's ${at || "body"} ${JSON.stringify(a)?.slice(0, 100)} was sent as ${JSON.stringify(b)?.slice(0, 100)}`);
    }
  };
  walk(JSON.parse(JSON.stringify(replied)), sent, "");
  return problems;
}

function decoded(body: Buffer, encoding: unknown): Buffer {
  if (encoding === "gzip") return zlib.gunzipSync(body);
  if (encoding === "br") return zlib.brotliDecompressSync(body);
  if (encoding === "deflate") return zlib.inflateSync(body);
  return body;
}

const RATE_HEADERS = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"];

/**
 * Builds the onSend observer used by the test app; violations go to `report`. `limited`: rate
 * limits are on, so every response of an operation with a rate-limit policy (all but
 * `x-rate-limit: none`) must carry the X-RateLimit headers, errors included.
 */
export function contractObserver(contract: Contract, report: (problems: string[]) => void, limited = true) {
  const r = contract.dereferenced.components.responses as Json;
  // Requests no route matches (info.description): 404 for unknown paths, 405 for another method.
  const unmatched = {
    v1: { responses: { "404": r.NotFound, "405": r.MethodNotAllowed, "429": r.RateLimited } },
    vapp: { responses: { "404": r.VappNotFound, "405": r.VappMethodNotAllowed, "429": r.VappRateLimited } },
  };
  return (req: FastifyRequest, reply: FastifyReply, payload: unknown, sentBody?: unknown, replied?: unknown) => {
    const isPreflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (isPreflight) return; // CORS preflight: answered on every path, described in info.description
    const url = req.routeOptions.url;
    if (url?.startsWith("/docs/")) return; // Swagger UI's own assets
    // Routes registered through implement() carry their operationId; a plugin's route (Swagger
    // UI's /docs) is found by method and URL.
    const operationId =
      req.routeOptions.config?.operationId ??
      // (HEAD is answered as GET is, without the body.)
      [...contract.operations.values()].find((o) => o.method === (req.method === "HEAD" ? "GET" : req.method) && o.url === url)?.operationId;
    const op: Json | undefined = operationId
      ? contract.operations.get(operationId)?.spec
      : url === undefined
        ? unmatched[contract.surfaceOf(req.url)]
        : undefined;
    const headers = reply.getHeaders() as Record<string, unknown>;
    // A stream of buffers already in memory (GET /users) carries them as `parts`: checked whole.
    const parts = (payload as { parts?: unknown } | null | undefined)?.parts;
    const sent = Array.isArray(parts)
      ? Buffer.concat(parts as Buffer[])
      : payload === null || payload === undefined || typeof payload === "string" || Buffer.isBuffer(payload)
        ? payload
        : undefined;
    // The compression plugin encodes after this hook; a route that encodes its own body (GET
    // /users' gzip) is checked as decoded.
    const body = Buffer.isBuffer(sent) ? decoded(sent, headers["content-encoding"]) : sent;
    const problems = checkResponse(contract, op, { method: req.method, url: req.url, status: reply.statusCode, headers, body });
    problems.push(...checkRequest(op, { method: req.method, url: req.url, status: reply.statusCode, body: sentBody }));
    // An object the handler answered with (not bytes it wrote itself) must arrive whole.
    if (replied !== null && typeof replied === "object" && !Buffer.isBuffer(replied) && !(replied instanceof Readable) && body !== undefined && body !== null) {
      const where = `${req.method} ${req.url} → ${reply.statusCode}`;
      try {
        problems.push(...replyProblems(where, replied, JSON.parse(String(body))));
      } catch {
        problems.push(`${where}: the handler answered with an object but the body sent is not JSON`);
      }
    }
    // A request refused because the instance sheds load is refused before it is counted.
    if (limited && op && op["x-rate-limit"] !== "none" && !(reply.statusCode === 503 && shedBody(body))) {
      const missing = RATE_HEADERS.filter((h) => headers[h] === undefined);
      if (missing.length) problems.push(`${req.method} ${req.url} → ${reply.statusCode}: a rate-limited operation answered without ${missing.join(", ")}`);
    }
    if (problems.length) report(problems);
  };
}

/** The body of a 503 the load shedding answered: v1's `overloaded`, or the V-app's `server:unavailable`. */
function shedBody(body: unknown): boolean {
  try {
    const parsed = JSON.parse(String(body)) as { error?: { details?: { reason?: string } }; type?: string };
    return parsed.error?.details?.reason === "overloaded" || parsed.type === "server:unavailable";
  } catch {
    return false;
  }
}
