// The document as a client developer reads it: every operation (both surfaces) has a summary and a
// description, every parameter a description, every JSON request body and every JSON response an
// example, and every example is valid against the schema it illustrates. Examples are checked with
// the validator the contract checks use (test/helpers/contract.ts), on the dereferenced document.
import t from "tap";
import { HTTP_METHODS, loadContract } from "../../src/contract/spec.ts";
import { schemaProblems } from "../helpers/contract.ts";

type Json = Record<string, any>;

const isJson = (mediaType: string) => /^application\/(.+\+)?json$/.test(mediaType.split(";")[0]!.trim());

/** The examples of one media type object: `example`, or each entry of `examples` (its `value`). */
function examplesOf(media: Json): [name: string, value: unknown][] {
  const out: [string, unknown][] = [];
  if (media.example !== undefined) out.push(["example", media.example]);
  for (const [name, ex] of Object.entries((media.examples ?? {}) as Json)) {
    if (ex && typeof ex === "object" && "value" in ex) out.push([`examples.${name}`, ex.value]);
  }
  return out;
}

interface OperationView {
  where: string;
  operationId: string;
  /** The dereferenced operation, path-level parameters included. */
  op: Json;
  parameters: Json[];
}

async function operations(): Promise<OperationView[]> {
  const { dereferenced } = await loadContract();
  const list: OperationView[] = [];
  for (const [path, item] of Object.entries(dereferenced.paths as Record<string, Json>)) {
    for (const method of HTTP_METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      list.push({
        where: `${method.toUpperCase()} ${path} (${String(op.operationId)})`,
        operationId: op.operationId,
        op,
        parameters: [...(item.parameters ?? []), ...(op.parameters ?? [])],
      });
    }
  }
  return list;
}

/**
 * One failure per operation (or schema) with everything it misses, so that the output reads as a
 * to-do list; a single pass when nothing is missing. `problems` are "<where>: <what>" lines.
 */
function report(t: { pass(message: string): unknown; fail(message: string): unknown }, problems: string[], what: string) {
  if (problems.length === 0) return void t.pass(what);
  const byWhere = new Map<string, string[]>();
  for (const p of problems) {
    const i = p.indexOf(": ");
    const where = i < 0 ? p : p.slice(0, i);
    byWhere.set(where, [...(byWhere.get(where) ?? []), i < 0 ? "" : p.slice(i + 2)]);
  }
  for (const [where, list] of byWhere) t.fail(`${what}: ${where}: ${list.join("; ")}`);
}

t.test("every operation has a summary and a description, every parameter a description", async (t) => {
  const problems: string[] = [];
  for (const { where, op, parameters } of await operations()) {
    if (typeof op.summary !== "string" || !op.summary.trim()) problems.push(`${where}: no summary`);
    if (typeof op.description !== "string" || !op.description.trim()) problems.push(`${where}: no description`);
    for (const p of parameters) {
      if (typeof p.description !== "string" || !p.description.trim()) problems.push(`${where}: parameter ${p.in} ${p.name} has no description`);
    }
  }
  report(t, problems, "summaries and descriptions");
});

t.test("every JSON request body has an example, valid against its schema", async (t) => {
  const contract = await loadContract();
  const problems: string[] = [];
  for (const { where, operationId, op } of await operations()) {
    for (const [mediaType, media] of Object.entries((op.requestBody?.content ?? {}) as Record<string, Json>)) {
      if (!isJson(mediaType)) continue;
      const examples = examplesOf(media);
      if (examples.length === 0) problems.push(`${where}: request ${mediaType} has no example`);
      const served = contract.operations.get(operationId)!;
      for (const [name, value] of examples) {
        // As written: what a client validating its requests against the document accepts.
        for (const p of schemaProblems(media.schema ?? {}, value)) problems.push(`${where}: request ${mediaType} ${name}: ${p}`);
        // As the service validates it: trimmed fields trimmed, then their x-trimmed rules too.
        if (mediaType === "application/json" && served.schema.body && value && typeof value === "object") {
          const trimmed: Json = { ...(value as Json) };
          for (const field of served.trimmed) if (typeof trimmed[field] === "string") trimmed[field] = trimmed[field].trim();
          for (const p of schemaProblems(served.schema.body, trimmed)) problems.push(`${where}: request ${mediaType} ${name} (as the service checks it): ${p}`);
        }
      }
    }
  }
  report(t, problems, "request examples");
});

t.test("every documented JSON response has an example, valid against its schema", async (t) => {
  const problems: string[] = [];
  for (const { where, op } of await operations()) {
    for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
      for (const [mediaType, media] of Object.entries((response.content ?? {}) as Record<string, Json>)) {
        if (!isJson(mediaType)) continue;
        const examples = examplesOf(media);
        if (examples.length === 0) problems.push(`${where}: ${status} ${mediaType} has no example`);
        for (const [name, value] of examples) {
          for (const p of schemaProblems(media.schema ?? {}, value)) problems.push(`${where}: ${status} ${mediaType} ${name}: ${p}`);
        }
      }
    }
  }
  report(t, problems, "response examples");
});

t.test("every property of components/schemas has a description", async (t) => {
  const { document } = await loadContract();
  const problems: string[] = [];
  // The document as written: a property that is a $ref carries its own description beside it
  // (what the field means here), the referenced schema describes the type.
  const walk = (schema: unknown, at: string) => {
    if (!schema || typeof schema !== "object") return;
    if (Array.isArray(schema)) return schema.forEach((s, i) => walk(s, `${at}[${i}]`));
    const s = schema as Json;
    for (const [name, prop] of Object.entries((s.properties ?? {}) as Json)) {
      if (!prop || typeof prop !== "object" || typeof prop.description !== "string" || !prop.description.trim()) problems.push(`${at}.${name}: no description`);
      walk(prop, `${at}.${name}`);
    }
    for (const key of ["items", "additionalProperties"]) walk(s[key], `${at}.${key}`);
    for (const key of ["oneOf", "anyOf", "allOf"]) walk(s[key], `${at}.${key}`);
  };
  for (const [name, schema] of Object.entries((document.components?.schemas ?? {}) as Json)) walk(schema, name);
  report(t, problems, "schema property descriptions");
});

t.test("the example checks catch a missing or invalid example", async (t) => {
  const schema = { type: "object", required: ["amount"], additionalProperties: false, properties: { amount: { type: "string", pattern: "^[0-9]+\\.[0-9]{2}$" } } };
  t.same(examplesOf({ schema }), [], "no example found where there is none");
  t.same(examplesOf({ schema, examples: { a: { value: { amount: "1.00" } }, b: { externalValue: "https://example.com/x.json" } } }), [["examples.a", { amount: "1.00" }]]);
  t.same(schemaProblems(schema, { amount: "1.00" }), []);
  t.match(schemaProblems(schema, { amount: "1" }), [/\/amount must match pattern/]);
  t.match(schemaProblems(schema, { amount: "1.00", extra: true }), [/must NOT have additional properties/]);
  t.ok(isJson("application/json") && isJson("application/problem+json") && !isJson("text/html") && !isJson("image/png"));
});
