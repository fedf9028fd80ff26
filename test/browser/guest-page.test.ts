// The guest page and the host console on their own, in a real browser: what a guest sees on a
// link (on a desktop and on a phone), the readable pages of links that cannot be called (404 for an
// unknown code, 410 with the reason), a declined card, and the console's sign-in and links. Every
// page is checked with axe-core (no serious or critical violation) under its real
// Content-Security-Policy, with no policy violation and no script error.
import t, { type Test } from "tap";
import { loadContract } from "../../src/contract/spec.ts";
import type { Browser, Page } from "playwright-core";
import {
  NO_BROWSER, apiLink, asHost, axeViolations, describeFindings, launchBrowser, saveScreenshot, servedApp,
  signInOnConsole, untilShown, watchPage, webHost, withAxe,
} from "../helpers/browser.ts";
import { login } from "../helpers/v1.ts";
import { until } from "../helpers/wait.ts";

interface ApiCall {
  id: string;
  status: string;
  amount_charged: string;
  end_reason: string | null;
  guest: { display_name: string };
}

/** The test payment methods of the simulated provider, as the card list offers them. */
const CARDS = ["pm_card_visa", "pm_card_mastercard", "pm_card_chargeDeclined", "pm_card_insufficientFunds", "pm_card_declineAfterFirstHold"];

async function newPage(browser: Browser, options: Parameters<Browser["newContext"]>[0] = {}, expected: RegExp[] = []) {
  const context = await browser.newContext({ timezoneId: "UTC", ...options });
  await withAxe(context);
  const page = await context.newPage();
  const problems = await watchPage(page, expected);
  return { context, page, problems };
}

async function noSeriousAxeFindings(t: Test, page: Page, what: string) {
  t.same(describeFindings(await axeViolations(page)), [], `${what}: no serious or critical axe-core violation`);
}

/** The landmarks every page has: English, one <main>, one <h1>. */
async function pageShape(t: Test, page: Page, what: string) {
  t.equal(await page.locator("html").getAttribute("lang"), "en", `${what}: lang="en"`);
  t.equal(await page.locator("main").count(), 1, `${what}: one <main>`);
  t.equal(await page.locator("h1").count(), 1, `${what}: one <h1>`);
}

t.test("the guest page of a link shows the host, the terms and the price rule, on a desktop and on a phone", { skip: NO_BROWSER }, async (t) => {
  const { app } = await servedApp(t);
  const host = await webHost(app, "hana@example.test", "Hana Ito", { avatar: true });
  const link = await apiLink(app, host, { rate_per_minute: "3.00", window_size_minutes: 10, label: "Office hours" });
  const browser = await launchBrowser(t);

  const { page, problems } = await newPage(browser, { viewport: { width: 1280, height: 800 } });
  const res = await page.goto(link.url);
  t.equal(res?.status(), 200, "the link's page is served");
  t.match(res?.headers()["content-security-policy"], /default-src 'none'/, "the page's own strict policy");
  await pageShape(t, page, "guest page");
  await untilShown(page, "h1", /^Call Hana Ito$/);
  const avatar = page.locator("#host-avatar");
  t.equal(await avatar.getAttribute("alt"), "", "the picture is decorative: the heading next to it names the host");
  const loaded = await until("the host's picture to load", () => page.evaluate<number>(`document.getElementById("host-avatar").naturalWidth`), 10_000);
  t.ok(loaded > 0, "the host's picture is shown");
  t.equal(await untilShown(page, "#label", /\S/), "Office hours", "the link's label");
  await untilShown(page, "#rate", /\$3\.00 per minute/);
  await untilShown(page, "#window", /10-minute windows/);
  const rule = await untilShown(page, "#price-rule", /\S/);
  t.match(rule, "we hold $30.00 (10 × $3.00) on your card", "the first hold");
  t.match(rule, "charged per started minute", "how the call is charged");

  const name = page.getByLabel("Your name");
  t.equal(await name.getAttribute("required"), "", "the name is required");
  const { InitiateCallRequest } = (await loadContract()).dereferenced.components.schemas as Record<string, any>;
  t.equal(await name.getAttribute("maxlength"), String(InitiateCallRequest.properties.guest_name.maxLength), "names as long as initiate accepts");
  const card = page.getByLabel("Card", { exact: true });
  const offered = await page.evaluate<string[]>(`Array.from(document.querySelectorAll("#card option"), (o) => o.value)`);
  t.same([...offered].sort(), [...CARDS].sort(), "the simulated provider's test cards");
  t.match(await card.locator('option[value="pm_card_visa"]').innerText(), /Visa/, "the approved Visa card is named");
  const start = page.getByRole("button", { name: "Start call" });
  t.ok(await start.isEnabled(), "Start call is ready");
  t.ok(await page.locator("#error").isHidden(), "no error shown");
  t.ok(await page.locator("#call").isHidden(), "no call view before the call");

  // Keyboard: name, card, Start call, in that order.
  await name.focus();
  await page.keyboard.press("Tab");
  t.equal(await page.evaluate<string>("document.activeElement.id"), "card", "Tab goes from the name to the card");
  await page.keyboard.press("Tab");
  t.equal(await page.evaluate<string>("document.activeElement.id"), "start", "then to Start call");

  await saveScreenshot(page, "guest-page");
  await noSeriousAxeFindings(t, page, "guest page");

  // A phone: everything fits 375 px (no sideways scrolling) and the form is reachable.
  const phone = await newPage(browser, { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await phone.page.goto(link.url);
  await untilShown(phone.page, "h1", /^Call Hana Ito$/);
  t.ok((await phone.page.evaluate<number>("document.documentElement.scrollWidth")) <= 375, "no sideways scrolling at 375 px");
  const box = await phone.page.getByRole("button", { name: "Start call" }).boundingBox();
  t.ok(box && box.x >= 0 && box.x + box.width <= 375, "Start call fits the screen");
  await saveScreenshot(phone.page, "guest-page-phone");
  await noSeriousAxeFindings(t, phone.page, "guest page on a phone");

  // A link with neither picture nor label shows neither.
  const plain = await webHost(app, "paul@example.test", "Paul");
  const plainLink = await apiLink(app, plain);
  await page.goto(plainLink.url);
  await untilShown(page, "h1", /^Call Paul$/);
  t.equal(await page.locator("#host-avatar").count(), 0, "no picture without one");
  t.notOk(await page.locator("#label").isVisible(), "no label without one");

  t.same(problems, [], "no CSP violation, no script error");
  t.same(phone.problems, [], "phone: no CSP violation, no script error");
});

t.test("a link that cannot be called is a readable page: 404 for an unknown code, 410 with the reason", { skip: NO_BROWSER }, async (t) => {
  const { app, base } = await servedApp(t);
  const host = await webHost(app, "hana@example.test", "Hana Ito");
  const deactivated = await apiLink(app, host);
  await asHost(app, host, "DELETE", `/v1/links/${deactivated.id}`);
  const expired = await apiLink(app, host, { expires_at: new Date(Date.now() - 60_000).toISOString() });
  const later = await apiLink(app, host, { scheduled_start: new Date(Date.now() + 3 * 86_400_000).toISOString() });
  const browser = await launchBrowser(t);
  // The document's own status is an error status here: Chromium logs it as a failed load.
  const { page, problems } = await newPage(browser, {}, [/Failed to load resource: the server responded with a status of 4(04|10) /]);

  for (const [what, url] of [["an unknown code", `${base}/c/NoSuchLink1`], ["a path that is no code", `${base}/c/${encodeURIComponent("<b>x</b>")}`]] as const) {
    const res = await page.goto(url);
    t.equal(res?.status(), 404, `${what}: 404`);
    await pageShape(t, page, what);
    await untilShown(page, "h1", /^This link does not exist$/);
    t.equal(await page.locator("#start-form").count(), 0, `${what}: no form`);
    t.equal(await page.locator("main b").count(), 0, `${what}: nothing of the address is rendered as markup`);
  }
  await noSeriousAxeFindings(t, page, "the unknown link page");

  const reasons = new Map<string, string>();
  for (const [what, link, reason] of [
    ["deactivated", deactivated, /deactivated|no longer active|inactive|turned off/i],
    ["expired", expired, /expired/i],
    ["outside its schedule", later, /\d/],
  ] as const) {
    const res = await page.goto(link.url);
    t.equal(res?.status(), 410, `${what}: 410`);
    await pageShape(t, page, what);
    await untilShown(page, "h1", /^This link is unavailable$/);
    reasons.set(what, await untilShown(page, "#reason", reason));
    t.equal(await page.locator("#start-form").count(), 0, `${what}: no form`);
    if (what === "deactivated") {
      await saveScreenshot(page, "link-unavailable");
      await noSeriousAxeFindings(t, page, "the unavailable link page");
    }
  }
  t.equal(new Set(reasons.values()).size, 3, `each reason is its own sentence: ${JSON.stringify([...reasons])}`);

  t.same(problems, [], "no CSP violation, no script error");
});

t.test("a declined card shows the decline reason, starts no call, and the form stays usable", { skip: NO_BROWSER }, async (t) => {
  const { app } = await servedApp(t);
  const host = await webHost(app, "hana@example.test", "Hana Ito");
  const link = await apiLink(app, host);
  const browser = await launchBrowser(t);
  // The declined initiate answers 402, which Chromium logs as a failed load.
  const { page, problems } = await newPage(browser, {}, [/Failed to load resource: the server responded with a status of 402/]);
  await page.goto(link.url);
  await page.getByLabel("Your name").fill("Dee Klein");
  const start = page.getByRole("button", { name: "Start call" });
  const calls = async () => (await asHost<{ data: ApiCall[] }>(app, host, "GET", "/v1/calls?role=host")).data;

  const declines = [["pm_card_chargeDeclined", "generic_decline"], ["pm_card_insufficientFunds", "insufficient_funds"]] as const;
  for (const [i, [card, code]] of declines.entries()) {
    await page.getByLabel("Card", { exact: true }).selectOption(card);
    await start.click();
    const error = await untilShown(page, "#error", /\S/);
    t.match(error, /declined/i, `${card}: the card was declined`);
    t.match(error, `(${code})`, `${card}: with the reason`);
    t.equal(await page.locator("#error").getAttribute("role"), "alert", "announced");
    await until("Start call to be ready again", () => start.isEnabled(), 10_000);
    t.ok(await page.locator("#call").isHidden(), `${card}: no call view`);
    t.equal(await page.getByLabel("Your name").inputValue(), "Dee Klein", "the name is kept");
    // No call the host could join, nothing charged.
    t.same((await asHost<{ data: ApiCall[] }>(app, host, "GET", "/v1/calls?status=waiting&role=host")).data, [], `${card}: no waiting call`);
    const made = await calls();
    t.equal(made.length, i + 1, `${card}: one attempt recorded per decline`);
    for (const c of made) t.match(c, { status: "failed", end_reason: "payment_declined", amount_charged: "0.00" }, `${card}: a declined call is not a call`);
  }
  await noSeriousAxeFindings(t, page, "the guest page with a decline");

  // The same form, another card: the call starts and waits for the host.
  await page.getByLabel("Card", { exact: true }).selectOption("pm_card_visa");
  await start.click();
  await untilShown(page, "#call-status", /^Waiting for the host…$/);
  t.ok(await page.locator("#error").isHidden(), "the error is gone");
  const waiting = (await asHost<{ data: ApiCall[] }>(app, host, "GET", "/v1/calls?status=waiting&role=host")).data;
  t.match(waiting, [{ guest: { display_name: "Dee Klein" } }], "the approved card started a call");
  t.equal(waiting.length, 1, "one waiting call");
  await saveScreenshot(page, "call-waiting-guest");
  await noSeriousAxeFindings(t, page, "the guest's call view, waiting for the host");

  // The guest gives up before the host comes: nothing is charged, and the page says so.
  await page.getByRole("button", { name: "Hang up" }).click();
  await untilShown(page, "#ended h2", /^Call ended$/);
  t.equal(await untilShown(page, "#amount-charged", /\S/), "$0.00", "nothing charged");
  const ended = await until("the call settled", async () => (await calls()).find((c) => c.id === waiting[0]!.id && c.status === "cancelled"), 15_000);
  t.match(ended, { end_reason: "guest_cancelled", amount_charged: "0.00" }, "cancelled by the guest, nothing charged");

  t.same(problems, [], "no CSP violation, no script error");
});

t.test("the host console: a wrong password is refused with the API's message; signed in, the links can be copied and deactivated", { skip: NO_BROWSER }, async (t) => {
  const { app, base } = await servedApp(t);
  const host = await webHost(app, "hana@example.test", "Hana Ito");
  const link = await apiLink(app, host, { label: "Walk-in" });
  const browser = await launchBrowser(t);
  // The wrong password's 401 is logged by Chromium as a failed load.
  const { context, page, problems } = await newPage(browser, { viewport: { width: 1280, height: 900 } }, [/Failed to load resource: the server responded with a status of 401/]);
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  page.on("dialog", (d) => void d.accept()); // "Deactivate this link?" and the like: yes

  const res = await page.goto(`${base}/host`);
  t.equal(res?.status(), 200, "the console is served");
  await pageShape(t, page, "host console");
  await untilShown(page, "h1", /^Host console$/);
  t.equal(await page.getByLabel("Email").getAttribute("type"), "email", "an e-mail field");
  t.equal(await page.getByLabel("Password").getAttribute("type"), "password", "a password field");
  await noSeriousAxeFindings(t, page, "the signed-out console");

  const refused = (await login(app, host.email, "not the password")).json() as { error: { message: string } };
  await page.getByLabel("Email").fill(host.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  t.match(await untilShown(page, "#error", /\S/), refused.error.message, "the API's message");
  t.equal(await page.getByRole("button", { name: "Sign out" }).count(), 0, "not signed in");

  await signInOnConsole(page, base, host);
  for (const heading of ["Your links", "Waiting calls", "Earnings"]) {
    t.equal(await page.getByRole("heading", { level: 2, name: heading }).count(), 1, `a section "${heading}"`);
  }
  const item = page.locator("#links li").filter({ hasText: "Walk-in" });
  await item.waitFor({ timeout: 20_000 });
  const shown = (await item.locator("input").count()) > 0 ? await item.locator("input").first().inputValue() : await item.locator("code").first().innerText();
  t.equal(shown.trim(), link.url, "the link's URL");
  await saveScreenshot(page, "host-console");
  await noSeriousAxeFindings(t, page, "the signed-in console");

  await item.getByRole("button", { name: "Copy link" }).click();
  const copied = await until("the link on the clipboard", () => page.evaluate<string>("navigator.clipboard.readText()"), 10_000);
  t.equal(copied, link.url, "Copy link puts the URL on the clipboard");

  await item.getByRole("button", { name: "Deactivate" }).click();
  const off = await until("the link deactivated", async () => {
    const { link: now } = await asHost<{ link: { is_active: boolean } }>(app, host, "GET", `/v1/links/${link.id}`);
    return now.is_active ? null : now;
  }, 15_000);
  t.equal(off.is_active, false, "Deactivate deactivates the link");
  const guest = await (await browser.newContext()).newPage();
  t.equal((await guest.goto(link.url))?.status(), 410, "its page is now the unavailable page");

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor({ timeout: 10_000 });
  t.same(problems, [], "no CSP violation, no script error");
});
