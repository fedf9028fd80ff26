// Issue 16, Done when 1: with a Vonage application configured (the local Vonage Users API of
// test/helpers/vonage-server.ts), the current V-app web client's flow, in a real browser, reaches
// the point where it hands the session token to the Vonage Client SDK (`createSession`), and that
// token is the one the SDK's backend accepts: RS256 with the application's key, its claims and the
// acl of docs/vapp.md, "Vonage mode".
//
// The page is our own, not the original's: a minimal page that makes the requests the web client
// (nexmo-community/clientsdk-the-v-app, client-web/script.js) makes, with its headers, in its
// order: POST /signup or /login (with "Authorization: Bearer undefined" before any token exists),
// then `new NexmoClient({ debug: false })` and `createSession(token)`, then GET /conversations.
// It is served from an origin of its own (https://vapp-web.test, https as the web client is
// deployed), so every call to the service is cross-origin and preflighted, as from the web
// client's host. The context grants Chromium's Local Network Access: a public page calling a
// service on loopback needs it (without it Chromium refuses every call), a deployed service does
// not (it is public too). The SDK is the real nexmo-client 9.5.1 (a devDependency), served for the
// unpkg URL the web client loads.
//
// Nothing reaches the network. The context's proxy is a fence on loopback that refuses, and keeps,
// every connection that is not to 127.0.0.1 (Chromium's own too: autofill's server, a preconnect).
// While the page loads, routes serve the page and the SDK and abort anything else; then they are
// removed: with a route in place Playwright answers every CORS preflight itself (allow-all), so
// the service's own answer would go untested; with none, the browser sends it to the service.
// The SDK's WebSocket to ws-us.vonage.com is routed (Playwright's in-page mock) to a stand-in for
// Vonage: createSession's token is read from the socket's URL, and once the stand-in has checked
// it as Vonage would (the application's public key, RS256, the application's id) it answers
// `session:success`, so the page goes on to what the web client does next.
import { createPublicKey, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer, type AddressInfo, type Socket } from "node:net";
import t, { type Test } from "tap";
import { importJWK, jwtVerify, type JWK, type JWTPayload } from "jose";
import type { Browser, Page, WebSocketRoute } from "playwright-core";
import { NO_BROWSER, launchBrowser, servedApp } from "../helpers/browser.ts";
import { startVonageServer, type VonageServer } from "../helpers/vonage-server.ts";
import { signup } from "../helpers/vapp.ts";
import { until } from "../helpers/wait.ts";

const PAGE_ORIGIN = "https://vapp-web.test";
/** Where the web client's index.html loads the SDK from (a classic script; it defines window.NexmoClient). */
const SDK_URL = "https://unpkg.com/nexmo-client@latest/dist/nexmoClient.js?module";
const SDK_SOURCE = readFileSync(createRequire(import.meta.url).resolve("nexmo-client/dist/nexmoClient.js"));
/** The SDK's socket: socket.io at wss://ws-us.vonage.com/v2/rtc/ (nexmo-client's default url and path). */
const VONAGE_SOCKET = /^wss:\/\/ws-us\.vonage\.com\/v2\/rtc\//;

const ACL_PATHS = [
  "/*/rtc/**", "/*/users/**", "/*/conversations/**", "/*/sessions/**", "/*/devices/**", "/*/image/**",
  "/*/media/**", "/*/applications/**", "/*/push/**", "/*/knocking/**", "/*/legs/**",
];
/** The headers the web client's postRequest and getRequest send on every call. */
const CLIENT_HEADERS = ["authorization", "bypass-tunnel-reminder", "content-type"];

/**
 * The test page. `BASE_URL` is the web client's placeholder ("VAPP_BASE_URL", which its scaffold
 * rewrites to the server's address). What the page saw is kept on window.__vapp for the test.
 */
function clientPage(baseUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>V-app web client flow</title>
<link rel="icon" href="data:,">
<script src="${SDK_URL}"></script>
</head>
<body>
<form id="signup">
  <label>Name <input name="name"></label>
  <label>Display name <input name="display_name"></label>
  <label>Password <input name="password" type="password"></label>
  <button>Sign up</button>
</form>
<form id="login">
  <label>Login name <input name="name"></label>
  <label>Login password <input name="password" type="password"></label>
  <button>Log in</button>
</form>
<p id="status"></p>
<ul id="users"></ul>
<script>
(() => {
  const BASE_URL = ${JSON.stringify(baseUrl)};
  const seen = (window.__vapp = { answers: [], session: null, users: null, done: false });
  // Unset until a sign-in answers: the first two calls send "Bearer undefined", as the web client does.
  let jwt;

  async function request(method, endpoint, body) {
    const response = await fetch(BASE_URL + endpoint, {
      method,
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + jwt, "Bypass-Tunnel-Reminder": true },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json();
    seen.answers.push({ method, endpoint, status: response.status, body: data });
    if (!response.ok) throw data;
    return data;
  }

  function showError(error) {
    const text = error.type === "data:validation" && Array.isArray(error.invalid_parameters)
      ? error.invalid_parameters.map((p) => p.name + " " + p.reason).join(", ")
      : error.detail;
    document.getElementById("status").textContent = "Error: " + text;
  }

  // The SDK's session; its failure is logged and the flow goes on, as in the web client.
  async function startSession() {
    try {
      const client = new NexmoClient({ debug: false });
      const application = await client.createSession(jwt);
      seen.session = { me: { id: application.me.id, name: application.me.name } };
    } catch (error) {
      seen.session = { error: String((error && (error.type || error.message)) || error) };
    }
  }

  async function dashboard(data) {
    jwt = data.token;
    await startSession();
    const byName = (u) => u.display_name.toUpperCase();
    seen.users = data.users.slice().sort((a, b) => (byName(a) < byName(b) ? -1 : byName(a) > byName(b) ? 1 : 0)).map((u) => u.name);
    for (const name of seen.users) document.getElementById("users").append(Object.assign(document.createElement("li"), { textContent: name }));
    await request("GET", "/conversations");
  }

  function onSubmit(id, endpoint, fields) {
    document.getElementById(id).addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target.elements;
      try {
        await dashboard(await request("POST", endpoint, Object.fromEntries(fields.map((f) => [f, form[f].value]))));
      } catch (error) {
        showError(error);
      } finally {
        seen.done = true;
      }
    });
  }
  onSubmit("signup", "/signup", ["name", "display_name", "password"]);
  onSubmit("login", "/login", ["name", "password"]);
})();
</script>
</body>
</html>`;
}

/**
 * Records the exact argument of every NexmoClient#createSession call (window.__createSession),
 * by wrapping the method on the class the SDK assigns to window.NexmoClient.
 */
const RECORD_CREATE_SESSION = `(() => {
  const calls = [];
  Object.defineProperty(window, "__createSession", { value: calls });
  let Client;
  Object.defineProperty(window, "NexmoClient", {
    configurable: true,
    get: () => Client,
    set(value) {
      const original = value && value.prototype && value.prototype.createSession;
      if (typeof original === "function") {
        value.prototype.createSession = function (...args) {
          calls.push(args);
          return original.apply(this, args);
        };
      }
      Client = value;
    },
  });
})();`;

/**
 * A stand-in proxy for the browser context: every request that is not to loopback comes here (an
 * origin, or a CONNECT host), is kept, and is refused. Nothing gets past it to the network.
 */
async function networkFence(t: Test) {
  const attempts: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.once("data", (chunk) => {
      attempts.push(chunk.toString("latin1").split("\r\n")[0]!);
      socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { proxy: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, attempts };
}

interface ServedRequest {
  method: string;
  url: string;
  status: number;
  origin: string | undefined;
  authorization: string | undefined;
  tunnel: string | undefined;
  requestHeaders: string | undefined;
  allowOrigin: string | undefined;
  allowHeaders: string | undefined;
  allowMethods: string | undefined;
}

/** The service in Vonage mode against the local Vonage server, with every request it answered. */
async function vonageService(t: Test) {
  const vonage = await startVonageServer();
  t.teardown(() => vonage.close());
  const served: ServedRequest[] = [];
  const header = (v: unknown) => (v === undefined ? undefined : String(v));
  const { app, base } = await servedApp(t, {
    env: { VONAGE_APPLICATION_ID: vonage.applicationId, VONAGE_PRIVATE_KEY: vonage.privateKeyPem, VONAGE_API_BASE: vonage.url },
    beforeReady: (app) =>
      app.addHook("onResponse", async (req, reply) => {
        served.push({
          method: req.method,
          url: req.url,
          status: reply.statusCode,
          origin: header(req.headers.origin),
          authorization: header(req.headers.authorization),
          tunnel: header(req.headers["bypass-tunnel-reminder"]),
          requestHeaders: header(req.headers["access-control-request-headers"]),
          allowOrigin: header(reply.getHeader("access-control-allow-origin")),
          allowHeaders: header(reply.getHeader("access-control-allow-headers")),
          allowMethods: header(reply.getHeader("access-control-allow-methods")),
        });
      }),
  });
  return { app, base, vonage, served };
}

interface Seen {
  answers: { method: string; endpoint: string; status: number; body: Record<string, unknown> }[];
  session: { me: { id: string; name: string } } | { error: string } | null;
  users: string[] | null;
  done: boolean;
}

interface VonageSocket {
  url: string;
  /** What the page sent on it (Engine.IO/socket.io packets). */
  fromPage: string[];
  /** Whether the stand-in for Vonage accepted the token (session:success) or refused it. */
  accepted: boolean | null;
}

/**
 * Answers the SDK's socket as Vonage's would, far enough for createSession: the Engine.IO v4 open
 * packet, the socket.io connect of the default namespace, then — if the token verifies with the
 * application's public key (RS256, this application's id) — `session:success` with the user of
 * the token; otherwise a session error, which createSession rejects with.
 */
function standInForVonage(vonage: VonageServer, sockets: VonageSocket[]) {
  const publicKey = createPublicKey(vonage.privateKeyPem);
  return async (ws: WebSocketRoute) => {
    const socket: VonageSocket = { url: ws.url(), fromPage: [], accepted: null };
    sockets.push(socket);
    const token = new URL(ws.url()).searchParams.get("token") ?? "";
    const claims = await jwtVerify(token, publicKey, { algorithms: ["RS256"] }).then(
      ({ payload }) => (payload.application_id === vonage.applicationId ? payload : null),
      () => null,
    );
    ws.onMessage((message) => {
      const text = message.toString();
      socket.fromPage.push(text);
      if (!text.startsWith("40")) return;
      ws.send(`40${JSON.stringify({ sid: randomUUID() })}`);
      socket.accepted = claims !== null;
      ws.send(
        claims
          ? `42${JSON.stringify(["session:success", { body: { id: `SES-${randomUUID()}`, user_id: claims.user_id, name: claims.sub, api_key: "stand-in" } }])}`
          : `42${JSON.stringify(["session:error:invalid-token", { body: { reason: "token rejected by the stand-in" } }])}`,
      );
    });
    ws.send(`0${JSON.stringify({ sid: randomUUID(), upgrades: [], pingInterval: 25_000, pingTimeout: 60_000, maxPayload: 1_000_000 })}`);
  };
}

/** A fresh context and page on the test page's origin, fenced, with the SDK's socket routed. */
async function openClient(t: Test, browser: Browser, base: string, vonage: VonageServer) {
  const fence = await networkFence(t);
  const context = await browser.newContext({ proxy: { server: fence.proxy, bypass: "127.0.0.1" }, permissions: ["local-network-access"] });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`script error: ${err.message}`));
  page.on("console", (msg) => {
    // Chromium logs every answer that is not 2xx; the web client's GET /conversations is a 404.
    if (msg.type() === "error" && !/status of 404 \(Not Found\)/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  const requests: string[] = [];
  page.on("request", (req) => requests.push(`${req.method()} ${req.url()}`));
  await page.addInitScript({ content: RECORD_CREATE_SESSION });
  const sockets: VonageSocket[] = [];
  await page.routeWebSocket(VONAGE_SOCKET, standInForVonage(vonage, sockets));
  await page.routeWebSocket((url) => !VONAGE_SOCKET.test(url.href), (ws) => {
    problems.push(`WebSocket to ${ws.url()} (closed by the test)`);
    return ws.close();
  });

  // Only while the page loads: the page, the SDK, and nothing else.
  const aborted: string[] = [];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url === `${PAGE_ORIGIN}/`) return route.fulfill({ contentType: "text/html; charset=utf-8", body: clientPage(base) });
    if (url === SDK_URL) return route.fulfill({ contentType: "text/javascript; charset=utf-8", body: SDK_SOURCE });
    aborted.push(url);
    return route.abort("blockedbyclient");
  });
  const res = await page.goto(`${PAGE_ORIGIN}/`, { waitUntil: "load" });
  t.equal(res?.status(), 200, "the test page is served on its own origin");
  t.equal(await page.evaluate("typeof window.NexmoClient"), "function", "the real SDK defined window.NexmoClient");
  await page.unrouteAll({ behavior: "wait" });
  return { page, sockets, fence, aborted, problems, requests };
}

/**
 * The page made no request but its own, the SDK's and the service's; had no script or console
 * error; and what did go to the fence (Chromium's own services, a preconnect) was refused at the
 * CONNECT, before any request was sent.
 */
function checkIsolation(t: Test, client: Awaited<ReturnType<typeof openClient>>, base: string) {
  t.same(client.problems, [], "no script or console error, no other WebSocket");
  t.same(client.aborted, [], "the page loaded nothing but itself and the SDK");
  const own = new Set([`GET ${PAGE_ORIGIN}/`, `GET ${SDK_URL}`]);
  t.same(client.requests.filter((r) => !own.has(r) && !r.includes(` ${base}/`)), [], "no request from the page but to the service");
  t.ok(client.fence.attempts.every((a) => a.startsWith("CONNECT ")), "the fence refused every other connection before a request was sent");
  if (client.fence.attempts.length) t.comment(`refused by the fence: ${[...new Set(client.fence.attempts)].join("; ")}`);
}

const seenBy = (page: Page) => page.evaluate<Seen>("window.__vapp");

/** The test page went through the flow: the SDK's session started, and the web client's next request answered. */
async function flowDone(page: Page) {
  return until("the page's flow to finish", async () => {
    const seen = await seenBy(page);
    return seen.done ? seen : null;
  }, 30_000, 100);
}

/** Verifies `token` as the Vonage side would, then everything Done when 1 names; returns its claims. */
async function checkToken(t: Test, token: string, vonage: VonageServer, expected: { name: string; userId: string }) {
  const applicationKey = createPublicKey(vonage.privateKeyPem);
  const { payload, protectedHeader } = await jwtVerify(token, applicationKey, { algorithms: ["RS256"] });
  t.same(protectedHeader, { alg: "RS256", typ: "JWT" }, "header: RS256, no kid");
  t.equal(payload.application_id, vonage.applicationId, "application_id: the configured application");
  t.equal(payload.sub, expected.name, "sub: the user's name");
  t.match(payload.user_id, /^USR-/, "user_id: a USR- id");
  t.equal(payload.user_id, expected.userId, "user_id: the id the V-app answer gave the user");
  t.type(payload.jti, "string", "jti: a string");
  t.ok(Number.isInteger(payload.iat), "iat: whole seconds");
  t.equal(payload.exp! - payload.iat!, 3600, "exp: one hour after iat");
  const paths = (payload.acl as { paths?: Record<string, unknown> } | undefined)?.paths ?? {};
  t.same(Object.keys(paths).sort(), [...ACL_PATHS].sort(), "acl.paths: exactly the eleven Client SDK paths");
  t.ok(Object.values(paths).every((rule) => JSON.stringify(rule) === "{}"), "acl.paths: each an empty rule {}");
  t.notOk("aud" in payload, "no aud");
  return payload;
}

/** Of the JWKS the service publishes, only the application's key verifies the token, and it is there. */
async function checkJwks(t: Test, token: string, base: string, vonage: VonageServer) {
  const res = await fetch(`${base}/.well-known/jwks.json`);
  t.equal(res.status, 200, "the JWKS is served");
  const { keys } = (await res.json()) as { keys: (JWK & { kid: string })[] };
  const { n, e } = createPublicKey(vonage.privateKeyPem).export({ format: "jwk" });
  const verifying: JWK[] = [];
  for (const jwk of keys) {
    const key = await importJWK(jwk, "RS256");
    if (await jwtVerify(token, key, { algorithms: ["RS256"] }).then(() => true, () => false)) verifying.push(jwk);
  }
  t.ok(keys.some((k) => k.n === n && k.e === e), "the application's key is in the JWKS");
  t.equal(verifying.length, 1, `exactly one of the JWKS's ${keys.length} keys verifies the token`);
  t.match(verifying[0], { n, e }, "that key is the application's: none of the service's own keys verifies it");
}

/** The socket the SDK opened: the token in its URL, the one createSession was given. */
async function checkSocket(t: Test, page: Page, sockets: VonageSocket[], token: string) {
  const calls = await page.evaluate<unknown[][]>("window.__createSession");
  t.same(calls, [[token]], "createSession was called once, with the token of the V-app answer");
  t.equal(sockets.length, 1, "the SDK opened one socket to ws-us.vonage.com");
  const url = new URL(sockets[0]!.url);
  t.equal(`${url.origin}${url.pathname}`, "wss://ws-us.vonage.com/v2/rtc/", "the SDK's default socket (no URL configured, as in the web client)");
  t.equal(url.searchParams.get("token"), token, "the token travels in the socket URL's query");
  t.match(Object.fromEntries(url.searchParams), { SDK_version: "9.5.1", session_version: "0.0.1", OS_family: "js", EIO: "4", transport: "websocket" }, "socket.io v4 over WebSocket, SDK 9.5.1");
  t.same(sockets[0]!.fromPage, ["40"], "on the socket the SDK sent socket.io's connect and nothing else: the token is in the URL only");
  t.equal(sockets[0]!.accepted, true, "the stand-in for Vonage accepted the token");
  return url;
}

/** The service answered each of these: the preflight (OPTIONS) with CORS allowing the client's headers, then the call. */
function checkCors(t: Test, served: ServedRequest[], calls: { method: string; url: string; status: number }[]) {
  for (const call of calls) {
    const preflight = served.find((r) => r.method === "OPTIONS" && r.url === call.url);
    t.ok(preflight, `${call.method} ${call.url}: the browser's preflight reached the service`);
    if (preflight) {
      t.equal(preflight.status, 204, `${call.url}: preflight answered 204`);
      t.equal(preflight.origin, PAGE_ORIGIN, `${call.url}: from the page's origin`);
      t.same(preflight.requestHeaders?.split(",").map((h) => h.trim()).sort(), CLIENT_HEADERS, `${call.url}: the browser asked for the client's headers`);
      t.same(preflight.allowHeaders?.split(",").map((h) => h.trim().toLowerCase()).sort(), CLIENT_HEADERS, `${call.url}: the service allows them`);
      t.match(preflight.allowMethods ?? "", new RegExp(`\\b${call.method}\\b`), `${call.url}: and ${call.method}`);
      t.equal(preflight.allowOrigin, "*", `${call.url}: for any origin`);
    }
    const actual = served.find((r) => r.method === call.method && r.url === call.url);
    t.match(actual, { status: call.status, origin: PAGE_ORIGIN, allowOrigin: "*" }, `${call.method} ${call.url}: answered ${call.status}, readable cross-origin`);
  }
}

/** The user at the local Vonage server: needs signup provisioning (issue 16, Scope, User provisioning). */
function checkProvisioned(t: Test, vonage: VonageServer, claims: JWTPayload, expected: { name: string; display_name: string }) {
  // Signup provisioning (Done when 2): the service created the user in the application's Users
  // API and uses the id Vonage gave it; without provisioning these two fail, and nothing else.
  const remote = vonage.users.get(String(claims.user_id));
  t.ok(remote, "[provisioning] the token's user_id is a user of the Vonage application");
  t.match(remote, { name: expected.name, display_name: expected.display_name }, "[provisioning] with the user's name and display name");
}

t.test("the web client's flow, in a browser, hands createSession the application's token", { skip: NO_BROWSER }, async (t) => {
  const { app, base, vonage, served } = await vonageService(t);
  const browser = await launchBrowser(t);
  /** What the service answered the page (not the test's own calls). */
  const fromPage = (since: number) => served.slice(since).filter((r) => r.origin === PAGE_ORIGIN);
  // Someone already there: the signup answer lists them.
  const arden = await signup(app, "arden");

  await t.test("signup", async (t) => {
    const client = await openClient(t, browser, base, vonage);
    const { page, sockets } = client;
    const first = served.length;
    await page.getByLabel("Name", { exact: true }).fill("paul");
    await page.getByLabel("Display name").fill("Paul Smith");
    await page.getByLabel("Password", { exact: true }).fill("correct horse");
    await page.getByRole("button", { name: "Sign up" }).click();
    const seen = await flowDone(page);

    const [signupAnswer, conversations] = seen.answers;
    t.match(signupAnswer, { method: "POST", endpoint: "/signup", status: 201 }, "the page's signup answered 201");
    const data = signupAnswer!.body as { user: { id: string; name: string; display_name: string }; token: string; users: { name: string }[] };
    t.match(data.user, { name: "paul", display_name: "Paul Smith" }, "the signed-up user");
    t.same(seen.users, ["arden"], "the users of the answer, sorted by display name as the web client does");

    const url = await checkSocket(t, page, sockets, data.token);
    t.same(seen.session, { me: { id: data.user.id, name: "paul" } }, "createSession resolved: the SDK's application is the user's");
    const claims = await checkToken(t, url.searchParams.get("token")!, vonage, { name: "paul", userId: data.user.id });
    await checkJwks(t, data.token, base, vonage);

    // What the web client asks next, and how it shows the answer (it renders `detail`).
    t.match(conversations, { method: "GET", endpoint: "/conversations", status: 404, body: { type: "data:notfound", detail: String } }, "GET /conversations: the V-app's 404");
    t.equal(await page.locator("#status").textContent(), `Error: ${(conversations!.body as { detail: string }).detail}`, "the page shows the error's detail");
    t.equal(seen.answers.length, 2, "no other request from the page");

    const calls = fromPage(first);
    t.same(calls.map((r) => `${r.method} ${r.url}`), ["OPTIONS /signup", "POST /signup", "OPTIONS /conversations", "GET /conversations"], "the service saw each call preflighted");
    t.match(calls[1], { authorization: "Bearer undefined", tunnel: "true" }, "signup: the client's headers, Bearer undefined before any token");
    t.match(calls[3], { authorization: `Bearer ${data.token}`, tunnel: "true" }, "then the session token");
    checkCors(t, calls, [{ method: "POST", url: "/signup", status: 201 }, { method: "GET", url: "/conversations", status: 404 }]);

    // The list of users, as the V-app's other clients fetch it (the iOS client's GET /users; the
    // web client uses the list of the signup answer), from the page with the token it holds.
    const list = await page.evaluate<{ status: number; body: { name: string }[] }>(`(async () => {
      const r = await fetch(${JSON.stringify(`${base}/users`)}, { headers: { "Content-Type": "application/json", Authorization: "Bearer " + ${JSON.stringify(data.token)}, "Bypass-Tunnel-Reminder": true } });
      return { status: r.status, body: await r.json() };
    })()`);
    t.equal(list.status, 200, "GET /users from the page with the session token: 200");
    t.same(Array.isArray(list.body) ? list.body.map((u) => u.name) : list.body, ["arden"], "the other users");
    checkCors(t, fromPage(first), [{ method: "GET", url: "/users", status: 200 }]);

    checkIsolation(t, client, base);
    checkProvisioned(t, vonage, claims, { name: "paul", display_name: "Paul Smith" });
  });

  await t.test("login", async (t) => {
    const client = await openClient(t, browser, base, vonage);
    const { page, sockets } = client;
    const first = served.length;
    await page.getByLabel("Login name").fill("arden");
    await page.getByLabel("Login password").fill("correct horse");
    await page.getByRole("button", { name: "Log in" }).click();
    const seen = await flowDone(page);

    const [loginAnswer] = seen.answers;
    t.match(loginAnswer, { method: "POST", endpoint: "/login", status: 200 }, "the page's login answered 200");
    const data = loginAnswer!.body as { user: { id: string }; token: string };
    t.equal(data.user.id, arden.user.id, "the user who signed up");
    t.same(seen.users, ["paul"], "the other users, sorted by display name");

    const url = await checkSocket(t, page, sockets, data.token);
    t.same(seen.session, { me: { id: arden.user.id, name: "arden" } }, "createSession resolved: the SDK's application is the user's");
    const claims = await checkToken(t, url.searchParams.get("token")!, vonage, { name: "arden", userId: arden.user.id });
    await checkJwks(t, data.token, base, vonage);
    t.not(data.token, arden.token, "a new token (jti) for the new sign-in");

    const calls = fromPage(first);
    t.same(calls.map((r) => `${r.method} ${r.url}`), ["OPTIONS /login", "POST /login", "OPTIONS /conversations", "GET /conversations"], "the service saw each call preflighted");
    t.match(calls[1], { authorization: "Bearer undefined", tunnel: "true" }, "login: Bearer undefined, ignored");
    checkCors(t, calls, [{ method: "POST", url: "/login", status: 200 }, { method: "GET", url: "/conversations", status: 404 }]);

    checkIsolation(t, client, base);
    checkProvisioned(t, vonage, claims, { name: "arden", display_name: "arden display" });
  });
});
