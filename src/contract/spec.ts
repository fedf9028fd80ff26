// The contract at run time: openapi.yaml is loaded and dereferenced once, and every operation is
// turned into the pieces Fastify needs (method, url, request and response schemas). Nothing here
// declares an API shape; it only reads the document.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import $RefParser from "@apidevtools/json-schema-ref-parser";

export const SPEC_PATH = fileURLToPath(new URL("../../openapi.yaml", import.meta.url));

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Reads a YAML document of the repository (openapi.yaml, asyncapi.yaml). The build writes its parse
 * beside it in dist/ (`<file>.json`): parsing YAML is most of a second of a compiled server's start,
 * JSON a few milliseconds. That parse is used only when it was made from this very text.
 */
export async function readYamlDocument(path: string): Promise<Json> {
  const text = readFileSync(path, "utf8");
  try {
    const parsed = JSON.parse(readFileSync(`${path}.json`, "utf8")) as { sha256: string; document: Json };
    if (parsed.sha256 === sha256(text)) return parsed.document;
  } catch {
    // none (running from source) or unreadable: parse the YAML
  }
  const YAML = (await import("yaml")).default;
  return YAML.parse(text) as Json;
}

/** Writes the parse of a YAML document that a compiled server reads instead (run by the build). */
export async function writeParsedDocument(path: string): Promise<void> {
  const text = readFileSync(path, "utf8");
  const YAML = (await import("yaml")).default;
  writeFileSync(`${path}.json`, JSON.stringify({ sha256: sha256(text), document: YAML.parse(text) }));
}

type Json = Record<string, any>;
export const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

export interface Operation {
  operationId: string;
  method: string;
  /** OpenAPI path, e.g. /v1/links/{id} */
  path: string;
  /** Fastify url, e.g. /v1/links/:id */
  url: string;
  /** The dereferenced operation object (for tests and docs). */
  spec: Json;
  /** Request/response schemas in the dialect Fastify's Ajv understands. */
  schema: {
    body?: Json;
    querystring?: Json;
    params?: Json;
    headers?: Json;
    response: Record<string, Json>;
  };
  /**
   * Body fields whose schema has `x-trimmed`: surrounding whitespace is removed before validation,
   * and the trimmed value must also meet `x-trimmed`'s keywords (the document's own keywords
   * describe the value as sent, so that a client validating against the document accepts what
   * the service accepts).
   */
  trimmed: string[];
  /** Content types the request body may have ("application/json", "multipart/form-data" ...). */
  requestContentTypes: string[];
  /** The operation's `x-fastify-config` (rate-limit policy name, surface ...). */
  config: Json;
}

export interface Contract {
  /** The document as written (served at /v1/openapi.json). */
  document: Json;
  /** The dereferenced document (for response assertions in tests). */
  dereferenced: Json;
  operations: Map<string, Operation>;
  /**
   * The surface a request path belongs to: the V-app's operations' paths (tag `V-app`) and the
   * paths under its tag's `x-path-prefixes`, or v1 for the rest.
   */
  surfaceOf(path: string): "vapp" | "v1";
}

/** Keywords Fastify's Ajv rejects or that mean nothing to validation. */
function forAjv(schema: unknown): any {
  if (Array.isArray(schema)) return schema.map(forAjv);
  if (!schema || typeof schema !== "object") return schema;
  const out: Json = {};
  // The service validates a trimmed field (Operation.trimmed) with its `x-trimmed` keywords too.
  const trimmed = (schema as Json)["x-trimmed"];
  for (const [k, v] of Object.entries({ ...schema, ...(trimmed && typeof trimmed === "object" ? trimmed : {}) })) {
    if (k === "example" || k.startsWith("x-") || k === "externalDocs" || k === "xml" || k === "discriminator") continue;
    // `properties` maps names to schemas: keep every name, clean the schemas.
    if (k === "properties" || k === "patternProperties") {
      out[k] = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, forAjv(s)]));
    } else out[k] = forAjv(v);
  }
  return out;
}

/**
 * A query parameter whose schema is an object, in style `form` exploded (OpenAPI's default for the
 * query), is not one parameter: its properties are parameters of their own, and its
 * `additionalProperties` says which other names the query may carry (a webhook's free-form query).
 */
const isSpread = (p: Json) => p.in === "query" && p.schema?.type === "object" && (p.style ?? "form") === "form" && p.explode !== false;

function paramsSchema(params: Json[], where: "query" | "path" | "header"): Json | undefined {
  const list = params.filter((p) => p.in === where);
  if (list.length === 0) return undefined;
  const name = (p: Json) => (where === "header" ? String(p.name).toLowerCase() : p.name);
  const single = list.filter((p) => !isSpread(p));
  const spread = list.filter(isSpread).map((p) => p.schema as Json);
  if (spread.length > 1) throw new Error(`openapi.yaml: at most one free-form query parameter per operation (${list.map(name).join(", ")})`);
  const others = spread[0]?.additionalProperties;
  return {
    type: "object",
    properties: {
      ...Object.fromEntries(Object.entries((spread[0]?.properties ?? {}) as Json).map(([k, s]) => [k, forAjv(s)])),
      ...Object.fromEntries(single.map((p) => [name(p), forAjv(p.schema ?? {})])),
    },
    required: [...((spread[0]?.required ?? []) as string[]), ...single.filter((p) => p.required).map(name)],
    // Unknown query parameters are refused like unknown body fields (unless a free-form parameter
    // admits them); headers are open.
    additionalProperties: where === "header" || (others === undefined ? false : forAjv(others)),
  };
}

let cached: Contract | undefined;

export async function loadContract(): Promise<Contract> {
  if (cached) return cached;
  const document = await readYamlDocument(SPEC_PATH);
  const dereferenced = (await $RefParser.dereference(structuredClone(document))) as Json;
  const operations = new Map<string, Operation>();
  for (const [path, item] of Object.entries(dereferenced.paths ?? {}) as [string, Json][]) {
    for (const method of HTTP_METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      if (!op.operationId) throw new Error(`openapi.yaml: ${method.toUpperCase()} ${path} has no operationId`);
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])] as Json[];
      const content = (op.requestBody?.content ?? {}) as Json;
      const jsonBody = content["application/json"]?.schema;
      const response: Record<string, Json> = {};
      for (const [status, res] of Object.entries(op.responses ?? {}) as [string, Json][]) {
        const schema = res.content?.["application/json"]?.schema;
        if (schema) response[status] = forAjv(schema);
      }
      operations.set(op.operationId, {
        operationId: op.operationId,
        method: method.toUpperCase(),
        path,
        url: path.replace(/\{([^}]+)\}/g, ":$1"),
        spec: op,
        schema: {
          // Fastify validates an absent body as null: an optional body may be absent.
          ...(jsonBody ? { body: op.requestBody?.required ? forAjv(jsonBody) : { if: { type: "null" }, then: true, else: forAjv(jsonBody) } } : {}),
          ...(paramsSchema(params, "query") ? { querystring: paramsSchema(params, "query") } : {}),
          ...(paramsSchema(params, "path") ? { params: paramsSchema(params, "path") } : {}),
          ...(paramsSchema(params, "header") ? { headers: paramsSchema(params, "header") } : {}),
          response,
        },
        trimmed: Object.entries((jsonBody?.properties ?? {}) as Record<string, Json>)
          .filter(([, s]) => s && typeof s === "object" && "x-trimmed" in s)
          .map(([name]) => name),
        requestContentTypes: Object.keys(content),
        config: op["x-fastify-config"] ?? {},
      });
    }
  }
  cached = { document, dereferenced, operations, surfaceOf: surfaces(document, operations) };
  return cached;
}

/**
 * The surface of a request path: an operation's path is its operations' (tag `V-app` or not);
 * any other path is the V-app's when it is one of the V-app tag's `x-path-prefixes` or under one
 * (the original V-app server's paths, which its clients still ask for), else v1's.
 */
function surfaces(document: Json, operations: Map<string, Operation>): Contract["surfaceOf"] {
  const byPath = new Map<string, "vapp" | "v1">();
  for (const o of operations.values()) byPath.set(o.path, (o.spec.tags ?? []).includes("V-app") ? "vapp" : "v1");
  const prefixes: unknown = ((document.tags ?? []) as Json[]).find((t) => t.name === "V-app")?.["x-path-prefixes"] ?? [];
  if (!Array.isArray(prefixes) || !prefixes.every((p) => typeof p === "string" && /^\/[^/?#]+$/.test(p))) {
    throw new Error("openapi.yaml: the V-app tag's x-path-prefixes must be a list of paths of one segment (/conversations)");
  }
  return (url) => {
    const path = url.split("?")[0]!;
    return byPath.get(path) ?? (prefixes.some((p: string) => path === p || path.startsWith(`${p}/`)) ? "vapp" : "v1");
  };
}
