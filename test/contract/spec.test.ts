// The contract itself: every spec operation is served and every served route is in the spec; the
// document served at /v1/openapi.json is openapi.yaml; the spec-assertion helper catches a lie.
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { checkResponse } from "../helpers/contract.ts";
import { HTTP_METHODS, loadContract } from "../../src/contract/spec.ts";

t.test("spec operations and registered routes match in both directions", async (t) => {
  const { app } = await testApp(t);
  const contract = await loadContract();
  const fromSpec = new Set([...contract.operations.values()].map((o) => `${o.method} ${o.url}`));
  const served = new Set(
    app.routeTable
      // HEAD mirrors GET, OPTIONS answers CORS preflight, /docs/* are Swagger UI's assets.
      .filter((r) => r.method !== "HEAD" && r.method !== "OPTIONS" && !r.url.startsWith("/docs/"))
      .map((r) => `${r.method} ${r.url}`),
  );
  t.same([...served].filter((r) => !fromSpec.has(r)), [], "no route outside the spec");
  t.same([...fromSpec].filter((r) => !served.has(r)), [], "no spec operation without a route");
  t.same([...app.implemented].sort(), [...contract.operations.keys()].filter((id) => id !== "getDocs").sort(), "every operation through implement()");
});

t.test("GET /v1/openapi.json serves openapi.yaml, its server the configured PUBLIC_URL", async (t) => {
  const { app } = await testApp(t, { env: { PUBLIC_URL: "https://api.example.org/" } });
  const res = await app.inject({ method: "GET", url: "/v1/openapi.json" });
  t.equal(res.statusCode, 200);
  t.equal(res.headers["content-type"], "application/json; charset=utf-8");
  const contract = await loadContract();
  const { servers, ...rest } = res.json();
  const { servers: _asWritten, ...asWritten } = contract.document as Record<string, unknown>;
  t.same(rest, asWritten, "everything else as written");
  t.same(servers, [{ url: "https://api.example.org", description: "This deployment (PUBLIC_URL)" }], "generated clients get this deployment's URL");
  const docsJson = await app.inject({ method: "GET", url: "/docs/json" });
  t.same(docsJson.json().servers, servers, "and so does the docs page");
  t.equal(res.json().openapi, "3.1.0");
  t.notOk("x-ratelimit-limit" in res.headers, "the document is not rate limited");
  const docs = await app.inject({ method: "GET", url: "/docs" });
  t.equal(docs.statusCode, 200);
  t.match(docs.headers["content-type"], /^text\/html/);
});

t.test("every operation has an id, a summary and declared error statuses", async (t) => {
  const { document } = await loadContract();
  for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      t.ok(op.operationId && op.summary, `${method} ${path} has operationId and summary`);
      t.ok(op.security !== undefined, `${method} ${path} states its security (use [] for public)`);
    }
  }
});

t.test("the spec assertion catches undeclared statuses, wrong bodies, missing headers", async (t) => {
  const contract = await loadContract();
  const op = contract.operations.get("vappToken")!.spec;
  const ok = { method: "POST", url: "/token", status: 200, headers: { "content-type": "application/json", "x-request-id": "r" }, body: '{"token":"a.b.c"}' };
  t.same(checkResponse(contract, op, ok), []);
  t.match(checkResponse(contract, op, { ...ok, status: 418 }), [/status not declared/]);
  t.match(checkResponse(contract, op, { ...ok, body: '{"token":"a.b.c","extra":1}' }), [/must NOT have additional properties/]);
  t.match(checkResponse(contract, op, { ...ok, headers: { "content-type": "text/html", "x-request-id": "r" } }), [/content type "text\/html" not declared/]);
  t.match(checkResponse(contract, op, { ...ok, headers: { "content-type": "application/json" } }), [/required header X-Request-ID missing/]);
  t.match(checkResponse(contract, op, { ...ok, headers: { ...ok.headers, "x-ratelimit-reset": "soon" } }), [/header X-RateLimit-Reset=soon/]);
});
