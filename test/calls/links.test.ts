// Call links (docs/calls.md, "Call links") and malformed input on every paid-call endpoint: a 4xx
// envelope and nothing written.
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { bearer, createLink, json, makeGuest, makeUser, startCall } from "../helpers/calls.ts";
import { formatCents, parseCents, platformFee, split } from "../../src/domain/money.ts";
import { fromUlid } from "../../src/domain/ids.ts";

t.test("money: cents inside, strings outside, 7 % fee half up", async (t) => {
  t.equal(parseCents("2.50"), 250);
  t.equal(parseCents("999.99"), 99_999);
  for (const bad of ["2.5", "2", "-1.00", "01.00", "1.000", "", "1e2", " 1.00"]) t.equal(parseCents(bad), null, bad);
  t.equal(formatCents(7200), "72.00");
  t.equal(formatCents(5), "0.05");
  t.equal(platformFee(3000), 210);
  t.equal(platformFee(1200), 84);
  t.equal(platformFee(50), 4, "3.5 cents rounds half up");
  t.equal(platformFee(150), 11, "10.5 cents rounds half up");
  t.same(split(1200), { grossCents: 1200, feeCents: 84, netCents: 1116 });
});

t.test("links", async (t) => {
  const { app, clock } = await testApp(t, { overrides: { tickIntervalMs: 0 } });
  const host = await makeUser(app, "host", "Hana");
  const other = await makeUser(app, "host", "Otto");
  const plainUser = await makeUser(app, "verified_user", "Vera");
  const guest = await makeGuest(app);
  const req = (method: string, url: string, token?: string, payload?: unknown) =>
    app.inject({ method: method as "GET", url, headers: { ...(payload !== undefined ? json : {}), ...(token ? bearer(token) : {}) }, ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}) });

  await t.test("create, read, list, update, deactivate", async (t) => {
    const now = clock.now();
    const res = await req("POST", "/v1/links", host.token, {
      rate_per_minute: "2.50", window_size_minutes: 10, label: "Office hours", max_uses: 5,
      expires_at: new Date(now + 86_400_000).toISOString(), scheduled_start: new Date(now - 1000).toISOString(), scheduled_end: new Date(now + 3_600_000).toISOString(),
    });
    t.equal(res.statusCode, 201, res.body);
    const link = res.json().link;
    t.match(link, { host_id: host.ulid, rate_per_minute: "2.50", window_size_minutes: 10, use_count: 0, max_uses: 5, label: "Office hours", is_active: true });
    t.match(link.short_code, /^[0-9A-Za-z]{10}$/);
    t.equal(link.url, `http://media.test/c/${link.short_code}`);
    t.same((await req("GET", `/v1/links/${link.id}`, host.token)).json().link, link);
    t.equal((await req("GET", `/v1/links/${link.id}`, other.token)).statusCode, 404, "another host's link is not found");
    const patched = await req("PATCH", `/v1/links/${link.id}`, host.token, { rate_per_minute: "4.00", label: null, max_uses: null });
    t.match(patched.json().link, { rate_per_minute: "4.00", label: null, max_uses: null });
    const second = await createLink(app, host, { rate_per_minute: "1.00" });
    const deleted = await req("DELETE", `/v1/links/${second.id}`, host.token);
    t.equal(deleted.json().link.is_active, false);
    t.equal((await req("DELETE", `/v1/links/${second.id}`, host.token)).statusCode, 200, "deactivating twice is fine");
    const all = await req("GET", "/v1/links?limit=1", host.token);
    t.same(all.json().data.map((l: any) => l.id), [second.id], "newest first");
    t.equal(all.json().pagination.has_more, true);
    const next = await req("GET", `/v1/links?limit=1&cursor=${all.json().pagination.cursor}`, host.token);
    t.same(next.json().data.map((l: any) => l.id), [link.id]);
    t.same((await req("GET", "/v1/links?active=true", host.token)).json().data.map((l: any) => l.id), [link.id]);
    t.same((await req("GET", "/v1/links?active=false", host.token)).json().data.map((l: any) => l.id), [second.id]);
    t.same((await req("GET", "/v1/links", other.token)).json().data, []);
  });

  await t.test("only hosts manage links", async (t) => {
    t.equal((await req("POST", "/v1/links", plainUser.token, { rate_per_minute: "2.50", window_size_minutes: 10 })).statusCode, 403);
    t.equal((await req("GET", "/v1/links", plainUser.token)).statusCode, 403);
    t.equal((await req("POST", "/v1/links", guest.token, { rate_per_minute: "2.50", window_size_minutes: 10 })).statusCode, 401, "a guest token is not an access token");
    t.equal((await req("POST", "/v1/links", undefined, { rate_per_minute: "2.50", window_size_minutes: 10 })).statusCode, 401);
  });

  await t.test("resolve says whether the link can be called now, and why not", async (t) => {
    const now = clock.now();
    const cases: [Record<string, unknown>, string | null][] = [
      [{}, null],
      [{ expires_at: new Date(now + 1000).toISOString() }, null],
      [{ scheduled_start: new Date(now + 3_600_000).toISOString() }, "outside_schedule"],
      [{ scheduled_start: new Date(now - 7_200_000).toISOString(), scheduled_end: new Date(now - 3_600_000).toISOString() }, "outside_schedule"],
    ];
    for (const [body, reason] of cases) {
      const link = await createLink(app, host, body);
      const res = await req("GET", `/v1/links/resolve/${link.short_code}`);
      t.equal(res.statusCode, 200);
      t.match(res.json(), { host: { id: host.ulid, display_name: "Hana", avatar_url: null }, rate_per_minute: "3.00", window_size_minutes: 10, available: reason === null, unavailable_reason: reason });
      if (reason) {
        const init = await req("POST", "/v1/calls/initiate", guest.token, { short_code: link.short_code, payment_method_id: "pm_card_visa" });
        t.equal(init.statusCode, 410);
        t.same(init.json().error.details, { reason });
      }
    }
    const expiring = await createLink(app, host, { expires_at: new Date(now + 1000).toISOString() });
    clock.advance(1000);
    t.equal((await req("GET", `/v1/links/resolve/${expiring.short_code}`)).json().unavailable_reason, "expired");
    const inactive = await createLink(app, host);
    await req("DELETE", `/v1/links/${inactive.id}`, host.token);
    t.equal((await req("GET", `/v1/links/resolve/${inactive.short_code}`)).json().unavailable_reason, "inactive");
    const once = await createLink(app, host, { max_uses: 1 });
    await startCall(app, guest, once.short_code);
    t.equal((await req("GET", `/v1/links/resolve/${once.short_code}`)).json().unavailable_reason, "uses_exhausted");
    const missing = await req("GET", "/v1/links/resolve/ZZZZZZZZZZ");
    t.equal(missing.statusCode, 404);
    t.equal(missing.json().error.code, "link_not_found");
  });

  await t.test("deactivating a link cancels calls still waiting on it and releases their holds", async (t) => {
    const link = await createLink(app, host);
    const started = await startCall(app, guest, link.short_code);
    await req("DELETE", `/v1/links/${link.id}`, host.token);
    const call = (await req("GET", `/v1/calls/${started.call.id}`, guest.token)).json().call;
    t.match(call, { status: "cancelled", end_reason: "link_unavailable", amount_charged: "0.00" });
  });

  await t.test("so does turning it off with PATCH is_active: false", async (t) => {
    const link = await createLink(app, host);
    const started = await startCall(app, guest, link.short_code);
    const patched = await req("PATCH", `/v1/links/${link.id}`, host.token, { is_active: false });
    t.equal(patched.json().link.is_active, false);
    const call = (await req("GET", `/v1/calls/${started.call.id}`, guest.token)).json().call;
    t.match(call, { status: "cancelled", end_reason: "link_unavailable", amount_charged: "0.00" });
    const holds = await app.db.simPaymentIntent.findMany({ where: { reference: fromUlid(started.call.id)! } });
    t.same(holds.map((h) => h.status), ["canceled"], "its hold released");
  });

  await t.test("malformed input: a 4xx envelope, nothing written", async (t) => {
    const link = await createLink(app, host);
    const started = await startCall(app, guest, link.short_code);
    const counts = async () => ({
      links: await app.db.callLink.count(),
      calls: await app.db.call.count(),
      windows: await app.db.billingWindow.count(),
      tokens: await app.db.signalingToken.count(),
      keys: await app.db.idempotencyKey.count(),
      intents: await app.db.simPaymentIntent.count(),
      link: JSON.stringify(await app.db.callLink.findUnique({ where: { shortCode: link.short_code } })),
    });
    const before = await counts();
    const bad: [string, string, string | undefined, unknown, number][] = [
      ["POST", "/v1/links", host.token, { rate_per_minute: "0.49", window_size_minutes: 10 }, 400],
      ["POST", "/v1/links", host.token, { rate_per_minute: "1000.00", window_size_minutes: 10 }, 400],
      ["POST", "/v1/links", host.token, { rate_per_minute: "2.5", window_size_minutes: 10 }, 400],
      ["POST", "/v1/links", host.token, { rate_per_minute: 2.5, window_size_minutes: 10 }, 400],
      ["POST", "/v1/links", host.token, { rate_per_minute: "2.50", window_size_minutes: 61 }, 400],
      ["POST", "/v1/links", host.token, { rate_per_minute: "2.50", window_size_minutes: 0 }, 400],
      ["POST", "/v1/links", host.token, { rate_per_minute: "2.50", window_size_minutes: 10, label: "x".repeat(121) }, 400],
      ["POST", "/v1/links", host.token, { rate_per_minute: "2.50", window_size_minutes: 10, expires_at: "tomorrow" }, 400],
      ["POST", "/v1/links", host.token, { rate_per_minute: "2.50", window_size_minutes: 10, scheduled_start: "2030-01-02T00:00:00Z", scheduled_end: "2030-01-01T00:00:00Z" }, 400],
      ["POST", "/v1/links", host.token, { rate_per_minute: "2.50", window_size_minutes: 10, surprise: true }, 400],
      ["POST", "/v1/links", host.token, [], 400],
      ["PATCH", `/v1/links/${link.id}`, host.token, {}, 400],
      ["PATCH", `/v1/links/${link.id}`, host.token, { scheduled_end: "2000-01-01T00:00:00Z", scheduled_start: "2001-01-01T00:00:00Z" }, 400],
      ["PATCH", `/v1/links/${link.id}`, host.token, { max_uses: 0 }, 400],
      ["PATCH", "/v1/links/not-an-id", host.token, { label: "x" }, 400],
      ["GET", "/v1/links?limit=0", host.token, undefined, 400],
      ["GET", "/v1/links?cursor=forged", host.token, undefined, 400],
      ["GET", "/v1/links?active=maybe", host.token, undefined, 400],
      ["GET", "/v1/links/resolve/bad!code", undefined, undefined, 400],
      ["POST", "/v1/calls/initiate", guest.token, { short_code: link.short_code }, 400],
      ["POST", "/v1/calls/initiate", guest.token, { short_code: link.short_code, payment_method_id: "visa" }, 400],
      ["POST", "/v1/calls/initiate", guest.token, { short_code: link.short_code, payment_method_id: "pm_card_visa", guest_name: "" }, 400],
      ["POST", "/v1/calls/initiate", guest.token, { short_code: link.short_code, payment_method_id: "pm_card_visa", tip: "1.00" }, 400],
      ["POST", "/v1/calls/initiate", undefined, { short_code: link.short_code, payment_method_id: "pm_card_visa" }, 401],
      ["POST", "/v1/calls/bad-id/join", host.token, undefined, 400],
      ["POST", `/v1/calls/${started.call.id}/join`, guest.token, undefined, 401],
      ["POST", `/v1/calls/${started.call.id}/join`, other.token, undefined, 404],
      ["POST", `/v1/calls/${started.call.id}/signaling-token`, other.token, undefined, 404],
      ["POST", `/v1/calls/${started.call.id}/end`, other.token, undefined, 404],
      ["GET", `/v1/calls/${started.call.id}`, other.token, undefined, 404],
      ["GET", "/v1/calls?status=sleeping", guest.token, undefined, 400],
      ["GET", "/v1/calls?role=admin", guest.token, undefined, 400],
      ["GET", "/v1/calls?cursor=xyz", guest.token, undefined, 400],
      ["GET", "/v1/payments/history?type=payout", guest.token, undefined, 400],
      ["GET", "/v1/payments/history?limit=101", guest.token, undefined, 400],
      ["GET", "/v1/payments/history", undefined, undefined, 401],
    ];
    for (const [method, url, token, payload, status] of bad) {
      const res = await req(method, url, token, payload);
      t.equal(res.statusCode, status, `${method} ${url} ${JSON.stringify(payload) ?? ""}`.slice(0, 120));
      t.type(res.json().error?.code, "string");
    }
    const wrongType = await app.inject({ method: "POST", url: "/v1/calls/initiate", headers: { ...bearer(guest.token), "content-type": "text/plain" }, payload: "hello" });
    t.equal(wrongType.statusCode, 415);
    const notJson = await app.inject({ method: "POST", url: "/v1/links", headers: { ...bearer(host.token), ...json }, payload: "{" });
    t.equal(notJson.statusCode, 400);
    t.same(await counts(), before, "nothing was written");
  });
});
