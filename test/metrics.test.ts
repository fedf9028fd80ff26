// Prometheus metrics as an operator's scraper sees them: the app runs with METRICS_PORT=0, takes
// real traffic (a paid call from start to settlement, a declined card, a rate-limited login, an
// unknown path, webhook deliveries), and its metrics port is read over HTTP. Requests count under
// their operation's id, the business series carry the billing rules' amounts, the ticker's lag
// shows work that is due and not done, the API's own port has no /metrics, and closing the app
// closes the metrics listener.
import t from "tap";
import type { FastifyInstance } from "fastify";
import { captureLogs, relaxedLimits, testApp } from "./helpers/app.ts";
import { activeCall, advance, bearer, createLink, initiate, makeGuest, makeUser, startCall } from "./helpers/calls.ts";
import { stripeApp } from "./helpers/stripe-app.ts";
import { outbox, PASSWORD } from "./helpers/v1.ts";

type Labels = Record<string, string>;
type Sample = { name: string; labels: Labels; value: number };

/** The samples of a scrape in Prometheus' text format. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Labels = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** A scrape: the value of the series `name` with exactly `labels`, undefined when there is none. */
type Scrape = { (name: string, labels?: Labels): number | undefined; samples: Sample[] };

async function scrape(app: FastifyInstance): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${app.metrics.address()!.port}/metrics`);
  if (res.status !== 200) throw new Error(`scrape: ${res.status}`);
  if (!res.headers.get("content-type")?.startsWith("text/plain; version=0.0.4")) throw new Error(`scrape: ${res.headers.get("content-type")}`);
  const samples = parse(await res.text());
  const value = (name: string, labels: Labels = {}) => {
    const same = (l: Labels) => Object.keys(l).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => l[k] === v);
    return samples.find((s) => s.name === name && same(s.labels))?.value;
  };
  return Object.assign(value, { samples });
}

/** Waits (real time, up to 2 s) until `check` holds; the last scrape. */
async function eventually(app: FastifyInstance, check: (m: Scrape) => boolean): Promise<Scrape> {
  for (let i = 0; ; i++) {
    const m = await scrape(app);
    if (check(m) || i === 100) return m;
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test("an app with METRICS_PORT serves its metrics there, and only there", async (t) => {
  const { app, clock, dataDir } = await testApp(t, {
    env: { METRICS_PORT: "0" },
    overrides: { tickIntervalMs: 0, rateLimits: { ...relaxedLimits, login: { max: 2, windowMs: 60_000 } } },
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const api = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const metricsPort = app.metrics.address()!.port;
  t.not(metricsPort, (app.server.address() as { port: number }).port, "a port of its own");

  await t.test("the API's port has no /metrics, and the metrics port nothing else", async (t) => {
    const res = await fetch(`${api}/metrics`);
    t.equal(res.status, 404);
    t.equal(((await res.json()) as { error: { code: string } }).error.code, "not_found", "the v1 surface's own 404");
    t.equal((await fetch(`http://127.0.0.1:${metricsPort}/v1/health`)).status, 404);
    t.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: "POST" })).status, 404);
  });

  await t.test("requests count under their operation's id and status class; unknown paths under one label", async (t) => {
    const post = (path: string, body: object) => fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    t.equal((await post("/v1/auth/register", { email: "metrics@example.test", password: PASSWORD })).status, 201);
    t.equal((await post("/v1/auth/login", { email: "metrics@example.test", password: PASSWORD })).status, 200);
    t.equal((await post("/v1/auth/login", { email: "metrics@example.test", password: "wrong password" })).status, 401);
    t.equal((await post("/v1/auth/login", { email: "metrics@example.test", password: PASSWORD })).status, 429, "the policy allows two a minute");
    for (const path of ["/v1/no-such-thing", "/v1/users/me/no-such-thing", "/wp-login.php"]) t.equal((await fetch(`${api}${path}`)).status, 404);

    const m = await scrape(app);
    t.equal(m("vidivo_http_requests_total", { operation: "registerUser", status_class: "2xx" }), 1);
    t.equal(m("vidivo_http_requests_total", { operation: "loginUser", status_class: "2xx" }), 1);
    t.equal(m("vidivo_http_requests_total", { operation: "loginUser", status_class: "4xx" }), 2, "the 401 and the 429");
    t.equal(m("vidivo_http_request_duration_seconds_count", { operation: "loginUser" }), 3);
    t.equal(m("vidivo_http_request_duration_seconds_bucket", { operation: "loginUser", le: "+Inf" }), 3);
    t.ok(m("vidivo_http_request_duration_seconds_sum", { operation: "loginUser" })! > 0, "the time spent");
    t.equal(m("vidivo_rate_limited_total", { policy: "login" }), 1, "one refusal by the login policy");
    // /metrics on the API's port (the previous test) and the three unknown paths.
    t.equal(m("vidivo_http_requests_total", { operation: "unmatched", status_class: "4xx" }), 4);
    const operations = new Set(m.samples.filter((s) => s.name === "vidivo_http_requests_total").map((s) => s.labels.operation));
    t.same([...operations].sort(), ["loginUser", "registerUser", "unmatched"], "no label made of a URL");
    t.ok(m("process_cpu_user_seconds_total")! > 0, "and the process's own metrics");
    t.ok(m("nodejs_heap_size_used_bytes")! > 0);
  });

  await t.test("a paid call, from its first hold to its settlement", async (t) => {
    // 12.5 minutes at $3.00 a minute in 10-minute windows: $30.00 captured for window 1, $9.00 for window 2.
    const host = await makeUser(app, "host", "Metered Host");
    const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10 });
    const guest = await makeUser(app, "verified_user", "Metered Guest");
    const call = await activeCall(app, host, link.short_code, guest);

    let m = await scrape(app);
    t.equal(m("vidivo_websocket_connections"), 2, "both participants' sockets");
    t.equal(m("vidivo_calls_active"), 1);
    t.equal(m("vidivo_holds_total", { outcome: "placed" }), 1, "window 1's hold");

    await advance(app, clock, 9 * 60_000); // window 2's hold
    await advance(app, clock, 60_000); // window 1's capture
    m = await scrape(app);
    t.equal(m("vidivo_holds_total", { outcome: "placed" }), 2);
    t.equal(m("vidivo_captures_total", { outcome: "captured" }), 1);
    t.equal(m("vidivo_captured_cents_total"), 3000);

    await advance(app, clock, 150_000);
    const ended = await app.inject({ method: "POST", url: `/v1/calls/${call.id}/end`, headers: bearer(guest.token) });
    t.match(ended.json().call, { status: "completed", amount_charged: "39.00" });
    await Promise.all([call.g.close(), call.h.close()]);
    await advance(app, clock, 0); // the settled call's notices and mails

    m = await eventually(app, (m) => m("vidivo_websocket_connections") === 0);
    t.equal(m("vidivo_websocket_connections"), 0, "the sockets are gone");
    t.equal(m("vidivo_calls_active"), 0);
    t.equal(m("vidivo_calls_finished_total", { status: "completed", reason: "guest_ended" }), 1);
    t.equal(m("vidivo_captures_total", { outcome: "captured" }), 2);
    t.equal(m("vidivo_captured_cents_total"), 3900, "the amount charged, $39.00");
    t.equal(m("vidivo_captures_total", { outcome: "failed" }), 0);
    t.equal(m("vidivo_holds_total", { outcome: "failed" }), 0);
    for (const op of ["createLink", "initiateCall", "joinCall", "endCall"]) {
      t.equal(m("vidivo_http_requests_total", { operation: op, status_class: "2xx" }), 1, op);
      t.equal(m("vidivo_http_request_duration_seconds_count", { operation: op }), 1, op);
    }
    t.notOk(m.samples.some((s) => s.labels.operation === "connectSignaling"), "an upgraded socket is not an answered request");
    const mails = await outbox(app, dataDir);
    t.ok(mails.some((mail) => mail.subject.startsWith("Your receipt")), "the receipt was sent");
    t.equal((await scrape(app))("vidivo_mails_queued_total"), mails.length, "every mail written was counted");
    t.equal(m("vidivo_mails_failed_total"), 0);
  });

  await t.test("a declined card: a declined hold and a failed call", async (t) => {
    const host = await makeUser(app, "host");
    const link = await createLink(app, host);
    t.equal((await initiate(app, await makeGuest(app), link.short_code, "pm_card_chargeDeclined")).statusCode, 402);
    const m = await scrape(app);
    t.equal(m("vidivo_holds_total", { outcome: "declined" }), 1);
    t.equal(m("vidivo_calls_finished_total", { status: "failed", reason: "payment_declined" }), 1);
    t.equal(m("vidivo_http_requests_total", { operation: "initiateCall", status_class: "4xx" }), 1);
  });

  await t.test("the ticker's lag: the age of the oldest step due and not run", async (t) => {
    const host = await makeUser(app, "host");
    await startCall(app, await makeGuest(app), (await createLink(app, host)).short_code);
    t.equal((await scrape(app))("vidivo_billing_ticker_lag_seconds"), 0, "nothing due yet");
    // The e-mail ring falls due 5 s after the call was made; the ticker does not run for a minute.
    clock.advance(65_000);
    t.equal((await scrape(app))("vidivo_billing_ticker_lag_seconds"), 60, "a minute behind");
    await app.services.tick();
    t.equal((await scrape(app))("vidivo_billing_ticker_lag_seconds"), 0, "caught up");
    await advance(app, clock, 5 * 60_000);
    t.equal((await scrape(app))("vidivo_calls_finished_total", { status: "cancelled", reason: "host_no_show" }), 1, "the host never came");
  });
});

t.test("the listener's address is logged; closing the app closes it, scrapers' open connections too", async (t) => {
  const { lines, logStream } = captureLogs();
  const { app } = await testApp(t, { env: { METRICS_PORT: "0", LOG_LEVEL: "info" }, overrides: { logStream } });
  const url = `http://127.0.0.1:${app.metrics.address()!.port}/metrics`;
  t.ok(lines.some((l) => JSON.parse(l).msg === `metrics served at ${url}`), "one line tells the operator where to scrape");
  t.equal((await fetch(url)).status, 200, "scraped (the connection is kept alive)");
  const started = Date.now();
  await app.close();
  t.ok(Date.now() - started < 2000, "the close does not wait for the scraper's connection");
  t.equal(app.metrics.address(), null);
  await t.rejects(fetch(url), "nothing listens on the port any more");
});

t.test("webhook deliveries by type and outcome", async (t) => {
  const { app, deliver, eventOf, onboardedHost, server } = await stripeApp(t, { env: { METRICS_PORT: "0" } });
  const host = await onboardedHost();
  server.restrictAccount(host.account);
  const event = eventOf("account.updated", host.account);
  t.equal((await deliver(event)).status, 200);
  t.equal((await deliver(event)).json.duplicate, true);
  t.equal((await deliver(event, { secret: "whsec_forged0000000000000000000000" })).status, 400);
  const m = await scrape(app);
  t.equal(m("vidivo_webhook_events_total", { type: "account.updated", outcome: "processed" }), 1);
  t.equal(m("vidivo_webhook_events_total", { type: "account.updated", outcome: "duplicate" }), 1);
  t.equal(m("vidivo_webhook_events_total", { type: "unknown", outcome: "rejected" }), 1, "a forged delivery");
});
