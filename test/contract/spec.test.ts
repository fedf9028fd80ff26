// The contract itself: every spec operation is served and every served route is in the spec; the
// document served at /v1/openapi.json is openapi.yaml; the spec-assertion helper catches a lie.
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { checkRequest, checkResponse, contractObserver, replyProblems } from "../helpers/contract.ts";
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

t.test("the request check catches a body the service took and the document refuses", async (t) => {
  const contract = await loadContract();
  const op = contract.operations.get("registerUser")!.spec;
  const sent = { method: "POST", url: "/v1/auth/register", status: 201, body: { email: "ann@example.com", password: "password1" } };
  t.same(checkRequest(op, sent), []);
  t.match(checkRequest(op, { ...sent, body: { ...sent.body, role: "admin" } }), [/the service took a body the document refuses \(data must NOT have additional properties\)/]);
  t.match(checkRequest(op, { ...sent, body: { email: "ann@example.com", password: "short" } }), [/must NOT have fewer than 8 characters/]);
  t.same(checkRequest(op, { ...sent, status: 400, body: { email: 42 } }), [], "a refused request is the service agreeing");
});

t.test("a client validating against the document accepts what the service accepts: e-mail addresses with surrounding whitespace", async (t) => {
  const { app } = await testApp(t);
  const contract = await loadContract();
  // The request check's validator: formats asserted, the operation's body schema as written
  // (x-trimmed is an extension it ignores).
  const documented = (operationId: string, body: unknown) =>
    checkRequest(contract.operations.get(operationId)!.spec, { method: "POST", url: operationId, status: 200, body }).length === 0;
  const post = (url: string, payload: unknown) => app.inject({ method: "POST", url, payload: payload as object });

  const email = " \tAnn.Padded@Example.com  ";
  t.ok(documented("registerUser", { email, password: "password1" }), "the document takes a padded address");
  const registered = await post("/v1/auth/register", { email, password: "password1" });
  t.equal(registered.statusCode, 201, "and so does the service");
  t.equal(registered.json().user.email, "Ann.Padded@Example.com", "stored trimmed");
  t.ok(documented("loginUser", { email, password: "password1" }));
  t.equal((await post("/v1/auth/login", { email, password: "password1" })).statusCode, 200);
  t.ok(documented("requestPasswordReset", { email }));
  t.equal((await post("/v1/auth/password/reset", { email })).statusCode, 202);

  // What the document refuses, the service refuses too.
  for (const bad of ["", 42, null]) {
    t.notOk(documented("registerUser", { email: bad, password: "password1" }), `the document refuses ${JSON.stringify(bad)}`);
    t.equal((await post("/v1/auth/register", { email: bad, password: "password1" })).statusCode, 400, `and so does the service`);
  }
  // The trimmed value's own rules (x-trimmed) are the service's: stricter than the value as sent.
  const blank = await post("/v1/auth/register", { email: "   ", password: "password1" });
  t.same([blank.statusCode, blank.json().error.details], [400, { email: "must not be empty" }], "blank once trimmed");
  const padded255 = await post("/v1/auth/register", { email: ` ${"a".repeat(243)}@example.com `, password: "password1" });
  t.same([padded255.statusCode, padded255.json().error.details], [400, { email: "must be at most 254 characters" }]);
  const padded254 = await post("/v1/auth/register", { email: `   ${"b".repeat(242)}@example.com   `, password: "password1" });
  t.equal(padded254.statusCode, 201, "254 characters once trimmed, whatever the padding");
});

t.test("a field the handler returns and the schema lacks fails the suite instead of vanishing", async (t) => {
  const contract = await loadContract();
  const problems: string[] = [];
  const { app } = await testApp(t, {
    overrides: { onResponse: contractObserver(contract, (p) => problems.push(...p)) },
    // Stands in for a handler that answers with one field too many (app-level hooks run before the route's).
    beforeReady: (app) =>
      app.addHook("preSerialization", async (req, _reply, payload) => (req.url === "/health" ? { ...(payload as object), uptime: 1 } : payload)),
  });
  const res = await app.inject({ method: "GET", url: "/health" });
  t.same(res.json(), { status: "ok" }, "the serializer drops the field, as in production");
  t.match(problems, [/GET \/health → 200: the handler's \/uptime was not sent/], "and the suite sees it");

  problems.length = 0;
  await app.inject({ method: "GET", url: "/ready" });
  t.same(problems, [], "a handler that returns what the schema describes passes");
  t.same(replyProblems("x", { n: 2.5, at: new Date(0) }, { n: 2, at: "1970-01-01T00:00:00.000Z" }), ["x: the handler's /n 2.5 was sent as 2"], "coerced values are caught too");
});
