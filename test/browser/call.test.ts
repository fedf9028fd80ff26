// The whole product in two real browsers: a host on the console (/host) and a guest on a link's
// page (/c/<code>), each in its own browser context with Chromium's fake camera and microphone,
// complete a paid call. The service relays the offer, answer and ICE candidates; the peers connect
// over loopback host candidates (no TURN is configured: turn_credentials.urls is [] and the pages
// use iceServers []). What the test reads in the pages is what a person sees (texts, buttons) and
// what the browser's WebRTC stack reports (connectionState, getStats): the peer connections are
// recorded by an init script that wraps window.RTCPeerConnection; the pages have no test hook.
// The service runs on the real clock: a call lasts real seconds and the billing ticker runs.
import t, { type Test } from "tap";
import type { Locator, Page } from "playwright-core";
import {
  NO_BROWSER, apiLink, asHost, axeViolations, describeFindings, launchBrowser, newParty, peerView,
  saveScreenshot, servedApp, signInOnConsole, untilShown, webHost,
} from "../helpers/browser.ts";
import { until } from "../helpers/wait.ts";

interface ApiCall {
  id: string;
  status: string;
  rate_per_minute: string;
  window_size_minutes: number;
  guest: { display_name: string };
  started_at: string | null;
  ended_at: string | null;
  amount_charged: string;
  end_reason: string | null;
}

/** Generous: a loaded CI machine runs two Chromiums, the service and its database. */
const CONNECT_MS = 45_000;

const cents = (usd: string) => Math.round(Number(usd) * 100);
const usd = (c: number) => (c / 100).toFixed(2);
/** The platform's 7 % of a capture, rounded half up to the cent (docs/billing.md). */
const fee = (c: number) => Math.floor((c * 7 + 50) / 100);

/**
 * Waits for a connected peer connection of the page (the first at index `from` or later) that
 * decodes the other side's video and shows it in #remote-video, then for 60 more frames on that
 * same connection (a few seconds of video at the fake camera's rate): frames keep flowing.
 * Returns that connection's index.
 */
async function videoFlows(t: Test, page: Page, who: string, from = 0): Promise<number> {
  const first = await until(`${who}: a connected peer connection decoding video`, async () => {
    const v = await peerView(page);
    const i = v.peers.findIndex((p, i) => i >= from && p.state === "connected" && p.framesDecoded > 0);
    return i >= 0 && v.remote && v.remote.width > 0 ? { i, frames: v.peers[i]!.framesDecoded, width: v.remote.width } : null;
  }, CONNECT_MS, 250);
  const later = await until(`${who}: video frames still arriving`, async () => {
    const p = (await peerView(page)).peers[first.i];
    return p && p.framesDecoded >= first.frames + 60 ? p : null;
  }, CONNECT_MS, 250);
  t.equal(later.state, "connected", `${who}: the peer connection is connected`);
  t.ok(later.framesDecoded >= first.frames + 60, `${who}: video frames keep arriving (${first.frames} → ${later.framesDecoded}), shown ${first.width} px wide`);
  return first.i;
}

/** The link URL an item of the console's #links shows (in a readonly input or a code element). */
async function shownUrl(item: Locator): Promise<string> {
  const input = item.locator("input");
  if ((await input.count()) > 0) return (await input.first().inputValue()).trim();
  return (await item.locator("code").first().innerText()).trim();
}

async function noSeriousAxeFindings(t: Test, page: Page, what: string) {
  t.same(describeFindings(await axeViolations(page)), [], `${what}: no serious or critical axe-core violation`);
}

/** The call, once settled (completed, cancelled or failed), read through the API as the host. */
async function settled(app: Parameters<typeof asHost>[0], host: Parameters<typeof asHost>[1], id: string): Promise<ApiCall> {
  return until("the call settled", async () => {
    const { call } = await asHost<{ call: ApiCall }>(app, host, "GET", `/v1/calls/${id}`);
    return ["completed", "cancelled", "failed"].includes(call.status) ? call : null;
  }, 30_000, 250);
}

/**
 * Both pages show the ended call with the amount the billing rules give for it: each started
 * minute between started_at and ended_at at the call's rate. Returns that amount in cents.
 */
async function bothShowTheEnd(t: Test, pages: { guest: Page; host: Page }, call: ApiCall): Promise<number> {
  t.ok(call.started_at && call.ended_at, "the call started and ended");
  const ms = Date.parse(call.ended_at!) - Date.parse(call.started_at!);
  const minutes = Math.ceil(ms / 60_000);
  const expected = minutes * cents(call.rate_per_minute);
  t.ok(minutes >= 1, `the call lasted ${ms} ms: ${minutes} started minute(s) at $${call.rate_per_minute}`);
  t.equal(call.amount_charged, usd(expected), "the API's amount_charged follows the billing rules");
  for (const [who, page] of Object.entries(pages)) {
    await untilShown(page, "#ended h2", /^Call ended$/);
    t.equal(await untilShown(page, "#amount-charged", /\S/), `$${usd(expected)}`, `${who}: the page shows the amount charged`);
  }
  return expected;
}

/** Every camera and microphone track the page got is stopped (the camera light goes off). */
async function mediaStopped(t: Test, page: Page, who: string) {
  const tracks = await until(`${who}: the camera and microphone stopped`, async () => {
    const { tracks } = await peerView(page);
    return tracks.length > 0 && tracks.every((s) => s === "ended") ? tracks : null;
  }, 15_000, 250);
  t.ok(tracks.length >= 2, `${who}: its ${tracks.length} camera and microphone tracks are stopped`);
}

t.test("a host and a guest complete a paid call through the pages: connected, video both ways, billing shown, the amount at the end", { skip: NO_BROWSER }, async (t) => {
  const { app, base } = await servedApp(t);
  const host = await webHost(app, "hana@example.test", "Hana Ito");
  const guestName = "Gina Müller";
  const browser = await launchBrowser(t);
  const h = await newParty(browser);
  const g = await newParty(browser);

  // The host signs in and makes a link in the console.
  await signInOnConsole(h.page, base, host);
  await h.page.getByLabel("Rate per minute (USD)").fill("2.50");
  await h.page.getByLabel("Window (minutes)").fill("5");
  await h.page.getByLabel("Label", { exact: true }).fill("Consultation");
  await h.page.getByRole("button", { name: "Create link" }).click();
  const item = h.page.locator("#links li").filter({ hasText: "Consultation" });
  await item.waitFor({ timeout: 20_000 });
  const url = await shownUrl(item);
  const { data: links } = await asHost<{ data: { url: string; short_code: string }[] }>(app, host, "GET", "/v1/links");
  t.match(links, [{ url, rate_per_minute: "2.50", window_size_minutes: 5, label: "Consultation", is_active: true }], "the console made the link it shows");
  t.equal(url, `${base}/c/${links[0]?.short_code}`, "the console shows the link's URL");

  // The guest opens that URL: the host, the terms and the price rule.
  const res = await g.page.goto(url);
  t.equal(res?.status(), 200, "the link's page is served");
  await untilShown(g.page, "h1", /Call Hana Ito/);
  await untilShown(g.page, "#rate", /\$2\.50 per minute/);
  await untilShown(g.page, "#window", /5-minute windows/);
  const rule = await untilShown(g.page, "#price-rule", /per started minute/);
  t.match(rule, "$12.50 (5 × $2.50)", "the price rule names the first hold");

  // The guest starts the call with the approved Visa card, and waits for the host.
  await g.page.getByLabel("Your name").fill(guestName);
  await g.page.getByLabel("Card", { exact: true }).selectOption("pm_card_visa");
  t.match(await g.page.locator("#card option:checked").innerText(), /Visa/, "the Visa card is chosen");
  await g.page.getByRole("button", { name: "Start call" }).click();
  await untilShown(g.page, "#call-status", /^Waiting for the host…$/);

  // The waiting call arrives in the console while the host looks at it (the live channel).
  const join = h.page.getByRole("button", { name: `Join call with ${guestName}` });
  await join.waitFor({ timeout: 30_000 });
  t.match(await h.page.locator("#waiting-calls li").filter({ has: join }).innerText(), guestName, "the waiting call names the guest");
  const waiting = await asHost<{ data: ApiCall[] }>(app, host, "GET", "/v1/calls?status=waiting&role=host");
  t.match(waiting.data, [{ status: "waiting", rate_per_minute: "2.50", window_size_minutes: 5, guest: { display_name: guestName } }], "the API has the one waiting call");
  t.equal(waiting.data.length, 1, "one waiting call");
  const callId = waiting.data[0]!.id;
  await saveScreenshot(h.page, "host-console-waiting-call");
  await noSeriousAxeFindings(t, h.page, "the host console with a waiting call");

  // The host joins: both peer connections connect, and video flows both ways.
  await join.click();
  await Promise.all([
    untilShown(g.page, "#call-status", /^Connected$/, CONNECT_MS),
    untilShown(h.page, "#call-status", /^Connected$/, CONNECT_MS),
  ]);
  const [gPeer] = await Promise.all([videoFlows(t, g.page, "guest"), videoFlows(t, h.page, "host")]);
  t.equal(await g.page.locator("#call-status").innerText(), "Connected", "the guest's page says Connected");
  t.equal(await h.page.locator("#call-status").innerText(), "Connected", "the host's page says Connected");
  await saveScreenshot(g.page, "call-guest");
  await saveScreenshot(h.page, "call-host");
  await noSeriousAxeFindings(t, g.page, "the guest's call view");
  await noSeriousAxeFindings(t, h.page, "the host's call view");

  // Billing: window 1 held until started_at + 5 minutes (UTC), and the running cost.
  const { call: active } = await asHost<{ call: ApiCall }>(app, host, "GET", `/v1/calls/${callId}`);
  t.equal(active.status, "active", "the call is active");
  const paidUntil = new Date(Date.parse(active.started_at!) + 5 * 60_000);
  for (const [who, page] of [["guest", g.page], ["host", h.page]] as const) {
    const billing = await untilShown(page, "#billing", /Window 1 held, paid until \d{1,2}:\d{2}/);
    const [, hh, mm] = /until (\d{1,2}):(\d{2})/.exec(billing)!;
    t.same([Number(hh) % 12, Number(mm)], [paidUntil.getUTCHours() % 12, paidUntil.getUTCMinutes()], `${who}: "${billing}" is the end of window 1`);
    const cost = await untilShown(page, "#cost", /^Running cost: \$\d+\.\d{2}$/);
    const shown = cents(cost.replace("Running cost: $", ""));
    t.ok(shown > 0 && shown % 250 === 0, `${who}: "${cost}" is a whole number of started minutes at $2.50`);
  }

  // Mute and camera: the button says what it will do, aria-pressed says what is on, the track follows.
  for (const [id, off, on, kind] of [["#mute", "Unmute", "Mute", "audioSending"], ["#camera", "Camera on", "Camera off", "videoSending"]] as const) {
    const button = g.page.locator(id);
    t.equal((await button.innerText()).trim(), on, `${id} says "${on}"`);
    await button.click();
    await untilShown(g.page, id, new RegExp(`^${off}$`));
    t.equal(await button.getAttribute("aria-pressed"), "true", `${off}: pressed`);
    t.notOk((await peerView(g.page)).peers[gPeer]![kind], `${id}: the guest's ${kind === "audioSending" ? "microphone" : "camera"} is not sent`);
    await button.click();
    await untilShown(g.page, id, new RegExp(`^${on}$`));
    t.equal(await button.getAttribute("aria-pressed"), "false", `${on}: not pressed`);
    t.ok((await peerView(g.page)).peers[gPeer]![kind], `${id}: sent again`);
  }

  // The guest hangs up: both pages show the ended call with the amount the billing rules give.
  await g.page.getByRole("button", { name: "Hang up" }).click();
  const call = await settled(app, host, callId);
  t.match(call, { status: "completed", end_reason: "guest_ended" }, "the guest ended the call");
  const charged = await bothShowTheEnd(t, { guest: g.page, host: h.page }, call);
  await mediaStopped(t, g.page, "guest");
  await mediaStopped(t, h.page, "host");
  await saveScreenshot(g.page, "call-ended-guest");
  await noSeriousAxeFindings(t, g.page, "the guest's ended call");

  // The host's earnings list the capture: gross, the platform's 7 %, net.
  const earnings = await untilShown(h.page, "#earnings", new RegExp(usd(charged).replace(".", "\\.")));
  for (const amount of [charged, fee(charged), charged - fee(charged)]) t.match(earnings, usd(amount), `the earnings show ${usd(amount)}`);

  t.same(g.problems, [], "guest: no CSP violation, no script error");
  t.same(h.problems, [], "host: no CSP violation, no script error");
});

t.test("a guest who reloads the page mid-call is back in the call: connected again, video flowing again", { skip: NO_BROWSER }, async (t) => {
  const { app, base } = await servedApp(t);
  const host = await webHost(app, "rui@example.test", "Rui Costa");
  // Single use: once the call has taken its use, the link's page is the 410 one; a guest reloading
  // mid-call must still get back into the call from it.
  const link = await apiLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10, max_uses: 1 });
  const guestName = "Ada";
  const browser = await launchBrowser(t);
  const h = await newParty(browser);
  // Chromium logs the 410 of the reloaded page as a failed load.
  const g = await newParty(browser, [/status of 410/]);
  // A page that asks before leaving a call is answered "leave" (the person reloads on purpose).
  g.page.on("dialog", (d) => void d.accept());

  await signInOnConsole(h.page, base, host);
  await g.page.goto(link.url);
  await g.page.getByLabel("Your name").fill(guestName);
  await g.page.getByLabel("Card", { exact: true }).selectOption("pm_card_visa");
  await g.page.getByRole("button", { name: "Start call" }).click();
  const join = h.page.getByRole("button", { name: `Join call with ${guestName}` });
  await join.waitFor({ timeout: 30_000 });
  await join.click();
  await untilShown(g.page, "#call-status", /^Connected$/, CONNECT_MS);
  await videoFlows(t, g.page, "guest");
  await videoFlows(t, h.page, "host");
  const { data: calls } = await asHost<{ data: ApiCall[] }>(app, host, "GET", "/v1/calls?role=host");
  t.match(calls, [{ status: "active" }], "the call is active");
  const callId = calls[0]!.id;
  const hostPeersBefore = (await peerView(h.page)).peers.length;

  // Reload: the page finds its call, gets a fresh signaling token and offers again (grace: 60 s).
  const reloaded = await g.page.reload();
  t.equal(reloaded?.status(), 410, "the used-up link's page is the unavailable one now");
  await untilShown(g.page, "#call-status", /^Connected$/, CONNECT_MS);
  t.ok(await g.page.locator("#call").isVisible(), "the guest sees the call view again");
  await videoFlows(t, g.page, "guest after the reload");
  await videoFlows(t, h.page, "host, on a new peer connection", hostPeersBefore);
  await untilShown(h.page, "#call-status", /^Connected$/, CONNECT_MS);
  const cost = await untilShown(g.page, "#cost", /^Running cost: \$\d+\.\d{2}$/);
  t.ok(cents(cost.replace("Running cost: $", "")) >= 300, `the guest sees the running cost again: "${cost}"`);
  const after = await asHost<{ data: ApiCall[] }>(app, host, "GET", "/v1/calls?role=host");
  t.match(after.data, [{ id: callId, status: "active" }], "the same call goes on: no new call, not ended");
  t.equal(after.data.length, 1, "one call in all");
  await saveScreenshot(g.page, "call-guest-after-reload");

  // The host hangs up this time; both pages show the end and the amount.
  await h.page.getByRole("button", { name: "Hang up" }).click();
  const call = await settled(app, host, callId);
  t.match(call, { status: "completed", end_reason: "host_ended" }, "the host ended the call");
  await bothShowTheEnd(t, { guest: g.page, host: h.page }, call);
  await mediaStopped(t, g.page, "guest");
  await mediaStopped(t, h.page, "host");

  t.same(g.problems, [], "guest: no CSP violation, no script error");
  t.same(h.problems, [], "host: no CSP violation, no script error");
});
