// The web client as HTTP sees it: every link's url serves the guest page (or the page saying why it
// cannot be called, with 404/410), the host console, the assets they name, and the pages' policy.
// What the pages do in a browser is tested in test/browser.
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { bearer, createLink, initiate, makeGuest, makeUser } from "../helpers/calls.ts";
import type { FastifyInstance } from "fastify";

const pathOf = (url: string) => new URL(url).pathname;
const assetsOf = (html: string) => [...html.matchAll(/(?:src|href)="(\/app\/[^"]+)"/g)].map((m) => m[1]!);

async function get(app: FastifyInstance, url: string) {
  return app.inject({ method: "GET", url });
}

t.test("a link's url opens the guest page: the host, the terms, and the page's own scripts", async (t) => {
  const { app } = await testApp(t);
  const host = await makeUser(app, "host", "Hana Ito");
  const link = await createLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10, label: "Tarot reading" });
  t.equal(link.url, `http://media.test/c/${link.short_code}`);

  const res = await get(app, pathOf(link.url as string));
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /^text\/html; charset=utf-8/);
  t.equal(res.headers["cache-control"], "no-store", "the link's availability changes: never cached");
  t.match(res.body, /Hana Ito/);
  t.match(res.body, /\$3\.00/);
  t.match(res.body, /Tarot reading/);
  t.match(res.body, /\$30\.00/, "the first hold: 10 × $3.00");

  const policy = String(res.headers["content-security-policy"]);
  t.match(policy, /default-src 'none'/);
  t.match(policy, /script-src 'self'(;|$)/, "scripts from this origin only, nothing inline");
  t.notMatch(policy, /unsafe-inline|unsafe-eval/);
  t.notMatch(res.body, /<script(?![^>]*\b(?:src=|type="application\/json"))[^>]*>/, "no inline script: each script has a src (data is JSON)");
  t.notMatch(res.body, /\sstyle=|<style/, "no inline style");

  // Every asset the page names is served, cacheable for good, in its type.
  const assets = assetsOf(res.body);
  t.ok(assets.some((a) => a.endsWith(".js")) && assets.some((a) => a.endsWith(".css")), "a script and a stylesheet");
  for (const asset of assets) {
    const file = await get(app, asset);
    t.equal(file.statusCode, 200, asset);
    t.equal(file.headers["cache-control"], "public, max-age=31536000, immutable");
    t.match(file.headers["content-type"], asset.endsWith(".js") ? /^text\/javascript/ : /^text\/css/);
    t.ok(file.body.length > 0);
  }
});

t.test("names are escaped: a display name or label with markup shows as text", async (t) => {
  const { app } = await testApp(t);
  const host = await makeUser(app, "host", `<img src=x onerror="alert(1)">`);
  const link = await createLink(app, host, { label: `</script><script>alert(2)</script>` });
  const res = await get(app, `/c/${link.short_code}`);
  t.equal(res.statusCode, 200);
  t.notMatch(res.body, /<img src=x/);
  t.notMatch(res.body, /<\/script><script>alert/);
  t.match(res.body, /&lt;img src=x onerror=/, "shown as text");
});

t.test("a code no link has, or not of a link's form: 404, a page that says so", async (t) => {
  const { app } = await testApp(t);
  for (const code of ["Zz9Zz9Zz9Z", "not-a-code!", "x"]) {
    const res = await get(app, `/c/${encodeURIComponent(code)}`);
    t.equal(res.statusCode, 404, code);
    t.match(res.headers["content-type"], /^text\/html/);
    t.match(res.body, /does not exist/);
  }
});

t.test("a link that cannot be called now: 410, a page that says why", async (t) => {
  const { app, clock } = await testApp(t);
  const host = await makeUser(app, "host", "Hana Ito");
  const page = async (code: string, why: RegExp) => {
    const res = await get(app, `/c/${code}`);
    t.equal(res.statusCode, 410, code);
    t.match(res.body, /unavailable/i);
    t.match(res.body, /Hana Ito/, "the page still names whom the link was for");
    t.match(res.body, why, `and says why: ${why}`);
    return res.body;
  };

  const deactivated = await createLink(app, host);
  await app.inject({ method: "DELETE", url: `/v1/links/${deactivated.id}`, headers: bearer(host.token) });
  await page(deactivated.short_code, /deactivated/);

  const expiring = await createLink(app, host, { expires_at: new Date(clock.now() + 60_000).toISOString() });
  t.equal((await get(app, `/c/${expiring.short_code}`)).statusCode, 200, "callable before it expires");
  const later = await createLink(app, host, {
    scheduled_start: new Date(clock.now() + 86_400_000).toISOString(),
    scheduled_end: new Date(clock.now() + 90_000_000).toISOString(),
  });
  await page(later.short_code, /can only be called from/);

  const once = await createLink(app, host, { max_uses: 1 });
  const guest = await makeGuest(app);
  t.equal((await initiate(app, guest, once.short_code)).statusCode, 201);
  await page(once.short_code, /used as many times as the host allowed/);

  clock.advance(120_000);
  await page(expiring.short_code, /expired/);
});

t.test("each reason a link cannot be called has a sentence of its own", async (t) => {
  const { unavailablePage } = await import("../../src/web/pages.ts");
  const resolution = {
    short_code: "Xk3P9qRt2Z", url: "http://media.test/c/Xk3P9qRt2Z", host: { id: "01JD2Q3Z8X4M5N6P7Q8R9S0T1V", display_name: "Hana Ito", avatar_url: null },
    rate_per_minute: "3.00", window_size_minutes: 10, label: null, scheduled_start: "2024-11-25T16:00:00.000Z", scheduled_end: "2024-11-25T18:00:00.000Z", available: false,
  };
  const assets = { script: "/app/guest.js", stylesheet: "/app/styles.css" };
  const reasons = ["inactive", "expired", "uses_exhausted", "outside_schedule", "payments_disabled"] as const;
  const sentences = reasons.map((reason) => /<p id="reason">([^<]*)<\/p>/.exec(unavailablePage({ ...resolution, unavailable_reason: reason }, assets))?.[1]);
  t.equal(new Set(sentences).size, reasons.length, `five different sentences: ${sentences.join(" | ")}`);
  t.match(sentences[3], "from 25 Nov 2024, 16:00 UTC to 25 Nov 2024, 18:00 UTC", "the schedule, in UTC");
  t.match(sentences[4], /cannot take payments/);
});

t.test("PUBLIC_URL with a path (a proxy serving the API under it): the pages name their assets under it", async (t) => {
  const { app } = await testApp(t, { env: { PUBLIC_URL: "https://example.org/calls" } });
  const host = await makeUser(app, "host", "Hana Ito");
  const link = await createLink(app, host);
  t.equal(link.url, `https://example.org/calls/c/${link.short_code}`);
  // The proxy strips /calls: the service sees /c/<code> and /app/<file>.
  const res = await get(app, `/c/${link.short_code}`);
  t.equal(res.statusCode, 200);
  t.same(assetsOf(res.body), [], "no asset named outside /calls");
  const named = [...res.body.matchAll(/(?:src|href)="\/calls(\/app\/[^"]+)"/g)].map((m) => m[1]!);
  t.equal(named.length, 2, "the script and the stylesheet, under /calls");
  for (const asset of named) t.equal((await get(app, asset)).statusCode, 200, `${asset} served (the proxy strips /calls)`);
});

t.test("the host console, and an asset no page names", async (t) => {
  const { app } = await testApp(t);
  const res = await get(app, "/host");
  t.equal(res.statusCode, 200);
  t.match(res.headers["content-type"], /^text\/html/);
  t.equal(res.headers["cache-control"], "no-store");
  t.match(String(res.headers["content-security-policy"]), /connect-src 'self'/);
  for (const asset of assetsOf(res.body)) t.equal((await get(app, asset)).statusCode, 200, asset);

  const missing = await get(app, "/app/nothing-ABCDEF12.js");
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().error.code, "not_found");
});

t.test("with the stripe provider the pages may load Stripe.js and its frames, nothing else more", async (t) => {
  const { pagePolicy } = await import("../../src/routes/web.ts");
  const { loadConfig } = await import("../../src/config.ts");
  const base = { NODE_ENV: "test", DATA_DIR: "/tmp/unused", PUBLIC_URL: "https://calls.example" };
  const simulated = pagePolicy(loadConfig(base));
  t.notMatch(simulated, /stripe/);
  t.match(simulated, /img-src [^;]*https:\/\/calls\.example/, "pictures from PUBLIC_URL (/media)");
  const stripe = pagePolicy(
    loadConfig({ ...base, PAYMENTS_PROVIDER: "stripe", STRIPE_SECRET_KEY: "sk_test_abc", STRIPE_WEBHOOK_SECRET: "whsec_abc", STRIPE_PUBLISHABLE_KEY: "pk_test_abc" }),
  );
  t.match(stripe, /script-src 'self' https:\/\/js\.stripe\.com https:\/\/\*\.js\.stripe\.com;/);
  t.match(stripe, /frame-src https:\/\/js\.stripe\.com https:\/\/\*\.js\.stripe\.com https:\/\/hooks\.stripe\.com;/);
  t.match(stripe, /connect-src 'self' https:\/\/api\.stripe\.com;/);
});
