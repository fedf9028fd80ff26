// The pages when things go wrong mid-way: a session that ends, a socket or a frame that is lost, a
// request whose answer never arrives. Real browsers and the real service, as in call.test.ts; the
// failures are made by the network between them (Playwright's page.route and routeWebSocket), the
// passing of time the page waits for by Playwright's clock (the page's own timers and Date only:
// the service and WebRTC keep real time). What the tests read is what a person sees: texts,
// buttons, the camera going off (a track's readyState), and what the API then holds.
import t, { type Test } from "tap";
import type { Page } from "playwright-core";
import Stripe from "stripe";
import {
  NO_BROWSER, addedCandidates, apiLink, asHost, axeViolations, describeFindings, launchBrowser, newParty, peerView, routeSignaling, saveScreenshot,
  servedApp, signInOnConsole, untilShown, webHost, type Frame, type SignalingRoute, type WebHost,
} from "../helpers/browser.ts";
import { startStripeServer } from "../helpers/stripe-server.ts";
import { bearer, json } from "../helpers/v1.ts";
import { until } from "../helpers/wait.ts";

interface ApiCall {
  id: string;
  status: string;
  guest: { display_name: string };
}

/** Generous: a loaded CI machine runs two Chromiums, the service and its database. */
const CONNECT_MS = 45_000;

type App = Awaited<ReturnType<typeof servedApp>>["app"];

/** What the page keeps in sessionStorage under keys starting with `prefix`. */
async function storedUnder(page: Page, prefix: string): Promise<Record<string, string>> {
  return page.evaluate<Record<string, string>>(
    `Object.fromEntries(Object.keys(sessionStorage).filter((k) => k.startsWith(${JSON.stringify(prefix)})).map((k) => [k, sessionStorage.getItem(k)]))`,
  );
}

/** The id of the element that has the keyboard focus. */
async function focused(page: Page): Promise<string> {
  return page.evaluate<string>(`document.activeElement ? document.activeElement.id : ""`);
}

/** The page's initiate requests, counted from now on. */
async function countInitiates(page: Page): Promise<{ count: number }> {
  const counter = { count: 0 };
  page.on("request", (req) => {
    if (req.url().endsWith("/v1/calls/initiate")) counter.count++;
  });
  return counter;
}

/**
 * For routeSignaling on the host's page: the guest's offers for which `hold` says so are delivered
 * together with the first candidate behind them (back to back, as a busy connection does), so that
 * the host is still applying the offer when the candidate arrives.
 */
function offerWithItsFirstCandidate(hold: (offer: Frame) => boolean) {
  let held: Frame | null = null;
  return (frame: Frame, route: SignalingRoute): Frame | null => {
    if (frame.type === "offer" && !held && hold(frame)) {
      held = frame;
      return null;
    }
    if (held && frame.type === "ice_candidate") {
      route.send(held);
      held = null;
    }
    return frame;
  };
}

const ufragOf = (sdp: unknown) => /a=ice-ufrag:(\S+)/.exec(String(sdp))?.[1];

/** The candidates the host's page received for this ufrag, and how many of them it added to a connection. */
async function candidatesFor(host: Page, route: SignalingRoute, ufrag: string | undefined) {
  const received = route.received.filter((f) => f.type === "ice_candidate" && (f.candidate as { usernameFragment?: string }).usernameFragment === ufrag).length;
  const added = (await addedCandidates(host)).filter((u) => u === ufrag).length;
  return { received, added };
}

async function noSeriousAxeFindings(t: Test, page: Page, what: string) {
  t.same(describeFindings(await axeViolations(page)), [], `${what}: no serious or critical axe-core violation`);
}

/** The host's calls, as the API lists them. */
async function hostCalls(app: App, host: WebHost, query = "role=host"): Promise<ApiCall[]> {
  return (await asHost<{ data: ApiCall[] }>(app, host, "GET", `/v1/calls?${query}`)).data;
}

/** The guest opens the link, gives a name and the Visa test card, and starts the call; resolves once it waits for the host. */
async function guestStarts(page: Page, url: string, name: string) {
  await page.goto(url);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Card", { exact: true }).selectOption("pm_card_visa");
  await page.getByRole("button", { name: "Start call" }).click();
  await untilShown(page, "#call-status", /^Waiting for the host…$/);
}

/** Both pages say "Connected". */
async function bothConnected(guest: Page, host: Page) {
  await Promise.all([untilShown(guest, "#call-status", /^Connected$/, CONNECT_MS), untilShown(host, "#call-status", /^Connected$/, CONNECT_MS)]);
}

/** The page's camera and microphone: "live" while on, "ended" once released. */
async function cameraState(page: Page): Promise<"on" | "off" | "none"> {
  const { tracks } = await peerView(page);
  if (tracks.length === 0) return "none";
  return tracks.every((s) => s === "ended") ? "off" : tracks.some((s) => s === "live") ? "on" : "off";
}

async function cameraOff(t: Test, page: Page, what: string) {
  await until(`${what}: the camera and microphone stopped`, async () => (await cameraState(page)) === "off", 15_000, 250);
  t.pass(`${what}: the camera and microphone are off`);
}

/**
 * The host's session ends elsewhere (signed out in another tab, say): the refresh token this tab
 * holds is revoked, and the page's clock is moved past its access token's 15 minutes, so that the
 * page's next request has to refresh, and learns that the session is over.
 */
async function sessionEndsElsewhere(app: App, page: Page) {
  const refreshToken = await page.evaluate<string | null>(`sessionStorage.getItem("vidivo:refresh-token")`);
  if (!refreshToken) throw new Error("the console holds no refresh token");
  const res = await app.inject({ method: "POST", url: "/v1/auth/logout", headers: json, payload: { refresh_token: refreshToken } });
  if (res.statusCode >= 300) throw new Error(`logout: ${res.statusCode} ${res.body}`);
  await page.clock.fastForward("16:00");
}

/** Signs in on the console as it is (no reload: the call view must stay). */
async function signInAgain(page: Page, host: WebHost) {
  await page.getByLabel("Email").fill(host.email);
  await page.getByLabel("Password").fill(host.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor({ timeout: 20_000 });
}

t.test("a host whose session ends: while joining the call is not said to go on; mid-call with the socket down, the page waits a minute for a sign-in, then leaves with the camera off", { skip: NO_BROWSER }, async (t) => {
  const { app, base } = await servedApp(t);
  const host = await webHost(app, "hana@example.test", "Hana Ito");
  const link = await apiLink(app, host);
  const browser = await launchBrowser(t);
  // The refused refreshes answer 401, which Chromium logs as failed loads.
  const h = await newParty(browser, [/status of 401/]);
  const g = await newParty(browser);
  await h.page.clock.install();
  const hostSocket = await routeSignaling(h.page);

  await signInOnConsole(h.page, base, host);
  await guestStarts(g.page, link.url, "Gus");
  const join = h.page.getByRole("button", { name: "Join call with Gus" });
  await join.waitFor({ timeout: 30_000 });

  // The session ends while the host is joining: the join fails, and the page says the session
  // ended, not that a call goes on (there is none yet).
  await sessionEndsElsewhere(app, h.page);
  await join.click();
  await h.page.getByRole("button", { name: "Sign in" }).waitFor({ timeout: 20_000 });
  const joining = await untilShown(h.page, "#error", /session has ended/i);
  t.notMatch(joining, /goes on/i, `a session ending while joining does not say the call goes on: "${joining}"`);
  t.ok(await h.page.locator("#call").isHidden(), "no call view");
  await cameraOff(t, h.page, "the host who was joining");

  // Signed in again, the host joins.
  await signInAgain(h.page, host);
  await h.page.getByRole("button", { name: "Join call with Gus" }).click();
  await bothConnected(g.page, h.page);

  // Mid-call, the session ends and then the socket drops: the page cannot reconnect without
  // credentials, and says that a sign-in gets the call back.
  await sessionEndsElsewhere(app, h.page);
  await hostSocket.drop();
  await h.page.getByRole("button", { name: "Sign in" }).waitFor({ timeout: 20_000 });
  await untilShown(h.page, "#call-status", /^Reconnecting…$/);
  await untilShown(h.page, "#error", /sign in again within a minute/i);
  t.equal(await cameraState(h.page), "on", "the camera stays on meanwhile");
  // Signing in again within the minute: back in the call.
  await signInAgain(h.page, host);
  await bothConnected(g.page, h.page);
  t.pass("signed in again, the host is back in the call");

  // Again, and this time nobody signs in: a minute later the page has left the call.
  await sessionEndsElsewhere(app, h.page);
  await hostSocket.drop();
  await untilShown(h.page, "#error", /sign in again within a minute/i);
  await untilShown(h.page, "#call-status", /^Reconnecting…$/);
  await h.page.clock.fastForward("01:05");
  const status = await untilShown(h.page, "#call-status", /left the call/i);
  t.match(status, /session ended/i, `the call view says the call was left because the session ended: "${status}"`);
  t.match(await untilShown(h.page, "#error", /\S/), /did not sign in again/i, "and what became of the call");
  t.ok(await h.page.getByRole("button", { name: "Hang up" }).isHidden(), "no call controls any more");
  await cameraOff(t, h.page, "the host who left");
  t.ok(await h.page.getByRole("button", { name: "Sign in" }).isVisible(), "the sign-in form is there");

  // The call goes on at the server for its grace (the page's minute is its own clock's): the page
  // kept its id, and signing in again takes the host back into it.
  const [active] = await hostCalls(app, host, "status=active&role=host");
  t.ok(active, "the call is still active at the server");
  t.equal(await h.page.evaluate(`sessionStorage.getItem("vidivo:host-call")`), active?.id, "the page still knows the call it left");
  await signInAgain(h.page, host);
  await bothConnected(g.page, h.page);
  t.pass("signed in again after leaving, the host is back in the call");
  await h.page.getByRole("button", { name: "Hang up" }).click();
  await untilShown(h.page, "#ended h2", /^Call ended$/);
  t.equal(await h.page.evaluate(`sessionStorage.getItem("vidivo:host-call")`), null, "the call over, its id is forgotten");

  t.same(h.problems, [], "host: no CSP violation, no script error");
  t.same(g.problems, [], "guest: no CSP violation, no script error");
});

t.test("a guest whose offer is answered with something unusable, then not answered at all, offers again until the call connects", { skip: NO_BROWSER }, async (t) => {
  const { app, base } = await servedApp(t);
  const host = await webHost(app, "rui@example.test", "Rui Costa");
  const link = await apiLink(app, host);
  const browser = await launchBrowser(t);
  const h = await newParty(browser);
  const g = await newParty(browser);
  // The network spoils the host's first answer on its way to the guest, and loses the second.
  let answers = 0;
  const guestSocket = await routeSignaling(g.page, (frame) => {
    if (frame.type !== "answer") return frame;
    answers++;
    if (answers === 1) return { ...frame, sdp: "v=0\r\nnot a session description\r\n" };
    if (answers === 2) return null;
    return frame;
  });
  // The offers made again (the host answers them on a new connection) come with a candidate right behind.
  let offersSeen = 0;
  const hostSocket = await routeSignaling(h.page, offerWithItsFirstCandidate(() => ++offersSeen > 1));

  await signInOnConsole(h.page, base, host);
  await guestStarts(g.page, link.url, "Olga");
  await h.page.getByRole("button", { name: "Join call with Olga" }).click();
  await bothConnected(g.page, h.page);
  const offers = guestSocket.sent.filter((f) => f.type === "offer").length;
  t.ok(answers >= 3 && offers >= 3, `the guest offered again after each lost answer (${offers} offers, ${answers} answers)`);
  const last = guestSocket.sent.filter((f) => f.type === "offer").at(-1);
  await new Promise((r) => setTimeout(r, 1_000)); // the rest of the gathering
  const { received, added } = await candidatesFor(h.page, hostSocket, ufragOf(last?.sdp));
  t.ok(received > 0, "the host received candidates for the offer it answered last");
  t.equal(added, received, `the host's new connection took all of them (${added} of ${received})`);
  const gv = await until("the guest's video", async () => {
    const v = await peerView(g.page);
    return v.remote && v.remote.width > 0 && v.peers.some((p) => p.state === "connected" && p.framesDecoded > 0) ? v : null;
  }, CONNECT_MS, 250);
  t.ok(gv.remote!.width > 0, "the guest sees the host's video");
  t.ok(await g.page.locator("#error").isHidden(), "the guest is shown no error: the page put it right by itself");

  t.same(h.problems, [], "host: no CSP violation, no script error");
  t.same(g.problems, [], "guest: no CSP violation, no script error");
});

t.test("a guest whose answers are all refused stops offering; an ICE restart starts over, with as many tries again", { skip: NO_BROWSER }, async (t) => {
  const { app, base } = await servedApp(t);
  const host = await webHost(app, "rui@example.test", "Rui Costa");
  const link = await apiLink(app, host);
  const browser = await launchBrowser(t);
  const h = await newParty(browser);
  const g = await newParty(browser);
  // The network spoils the host's first five answers on their way to the guest.
  let answers = 0;
  const spoilt = 5;
  const guestSocket = await routeSignaling(g.page, (frame) => {
    if (frame.type !== "answer") return frame;
    answers++;
    return answers <= spoilt ? { ...frame, sdp: "v=0\r\nnot a session description\r\n" } : frame;
  });
  const offers = () => guestSocket.sent.filter((f) => f.type === "offer").length;

  await signInOnConsole(h.page, base, host);
  await guestStarts(g.page, link.url, "Olga");
  await h.page.getByRole("button", { name: "Join call with Olga" }).click();
  // The first offer and three more, each answer refused: the guest gives up (and says so).
  await untilShown(g.page, "#error", /video connection could not be set up/i, CONNECT_MS);
  t.equal(offers(), 4, "four offers, then no more");
  t.equal(answers, 4, "four answers refused");

  // An ICE restart (the host asks for one): a new start, with its own three tries. Its first
  // answer is refused too; the guest offers again at once, and the next answer connects.
  guestSocket.send({ type: "ice_restart" });
  await until("a second offer after the restart", async () => offers() >= 6, 10_000, 100);
  t.pass("after the restart's refused answer the guest offered again at once");
  await bothConnected(g.page, h.page);
  t.equal(answers, 6, "the restart's second answer was the one applied");

  t.same(h.problems, [], "host: no CSP violation, no script error");
  // (The error the guest saw after four refused answers is a console-free alert.)
  t.same(g.problems, [], "guest: no CSP violation, no script error");
});

t.test("an ICE restart: every candidate of the guest's new offer reaches the host's connection, also when it comes right behind the offer", { skip: NO_BROWSER }, async (t) => {
  const { app, base } = await servedApp(t);
  const host = await webHost(app, "rui@example.test", "Rui Costa");
  const link = await apiLink(app, host);
  const browser = await launchBrowser(t);
  const h = await newParty(browser);
  const g = await newParty(browser);
  const guestSocket = await routeSignaling(g.page);
  // The network delivers a restart's offer to the host together with the first candidate behind
  // it (back to back, as a busy connection does): the host is still applying the offer when the
  // candidate arrives.
  let connected = false;
  const hostSocket = await routeSignaling(h.page, offerWithItsFirstCandidate(() => connected));

  await signInOnConsole(h.page, base, host);
  await guestStarts(g.page, link.url, "Olga");
  await h.page.getByRole("button", { name: "Join call with Olga" }).click();
  await bothConnected(g.page, h.page);
  connected = true;

  for (let round = 1; round <= 3; round++) {
    const offersBefore = hostSocket.received.filter((f) => f.type === "offer").length;
    guestSocket.send({ type: "ice_restart" });
    const offer = await until(`restart ${round}: the guest's new offer`, async () => hostSocket.received.filter((f) => f.type === "offer")[offersBefore], 10_000, 100);
    const ufrag = ufragOf(offer.sdp);
    await until(`restart ${round}: the new candidates`, async () => (await candidatesFor(h.page, hostSocket, ufrag)).received > 0, 10_000, 100);
    await new Promise((r) => setTimeout(r, 2_000)); // the rest of the gathering
    const { received, added } = await candidatesFor(h.page, hostSocket, ufrag);
    t.equal(added, received, `restart ${round}: the host's connection took all ${received} candidates the guest sent for its new offer`);
    await bothConnected(g.page, h.page);
  }

  t.same(h.problems, [], "host: no CSP violation, no script error");
  t.same(g.problems, [], "guest: no CSP violation, no script error");
});

t.test("a host whose reload rejoins the call: the waiting calls cannot be joined while it reads the call, and then it is back in it", { skip: NO_BROWSER }, async (t) => {
  const { app, base } = await servedApp(t);
  const host = await webHost(app, "ines@example.test", "Inês Sá");
  const link = await apiLink(app, host);
  const browser = await launchBrowser(t);
  const h = await newParty(browser);
  const g1 = await newParty(browser);
  const g2 = await newParty(browser);
  h.page.on("dialog", (d) => void d.accept());

  await signInOnConsole(h.page, base, host);
  await guestStarts(g1.page, link.url, "Max");
  await h.page.getByRole("button", { name: "Join call with Max" }).click();
  await bothConnected(g1.page, h.page);
  const [a] = await hostCalls(app, host, "status=active&role=host");
  await guestStarts(g2.page, link.url, "Zoe");

  // The reload's read of the call in progress is slow; meanwhile Zoe's call is in the list.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  await h.page.route(`**/v1/calls/${a!.id}`, async (route) => {
    await gate;
    await route.continue();
  }, { times: 1 });
  await h.page.reload();
  const joinZoe = h.page.getByRole("button", { name: "Join call with Zoe" });
  await joinZoe.waitFor({ timeout: 20_000 });
  t.ok(await joinZoe.isDisabled(), "Join is disabled while the page finds out about the call it was in");
  await saveScreenshot(h.page, "host-console-rejoining");
  release();

  await bothConnected(g1.page, h.page);
  t.equal(await h.page.evaluate(`sessionStorage.getItem("vidivo:host-call")`), a!.id, "the call kept is the one the host is back in");
  t.ok(await h.page.locator("#host-rejoin").isHidden(), "no offer to rejoin: the host is in the call");
  t.match(await hostCalls(app, host, "status=waiting&role=host"), [{ guest: { display_name: "Zoe" } }], "Zoe still waits");

  await h.page.getByRole("button", { name: "Hang up" }).click();
  await untilShown(h.page, "#ended h2", /^Call ended$/);
  await until("Join enabled again", async () => joinZoe.isEnabled(), 10_000, 100);
  t.ok(await h.page.locator("#host-rejoin").isHidden(), "still no offer to rejoin once the call is over");
  t.same(h.problems, [], "host: no CSP violation, no script error");
});

t.test("a host whose reload cannot get back into the call at once is offered to rejoin it, and does", { skip: NO_BROWSER }, async (t) => {
  const { app, base } = await servedApp(t);
  const host = await webHost(app, "ines@example.test", "Inês Sá");
  const link = await apiLink(app, host);
  const browser = await launchBrowser(t);
  // The refused read is logged by Chromium as a failed load.
  const h = await newParty(browser, [/Failed to load resource: net::ERR_/]);
  const g = await newParty(browser);
  h.page.on("dialog", (d) => void d.accept());

  await signInOnConsole(h.page, base, host);
  await guestStarts(g.page, link.url, "Max");
  await h.page.getByRole("button", { name: "Join call with Max" }).click();
  await bothConnected(g.page, h.page);
  const [call] = await hostCalls(app, host);
  t.match(call, { status: "active" }, "the call is active");

  // The reload's read of the call gets no answer (the network): the call is not in the waiting
  // list (it is active), so the page must keep a way back into it.
  await h.page.route(`**/v1/calls/${call!.id}`, (route) => route.abort("connectionreset"), { times: 1 });
  await h.page.reload();
  const rejoin = h.page.getByRole("button", { name: "Rejoin the call" });
  await rejoin.waitFor({ timeout: 20_000 });
  t.match(await untilShown(h.page, "#error", /\S/), /could not be reached/i, "the page says why");
  t.ok(await h.page.locator("#call").isHidden(), "no call view yet");
  await saveScreenshot(h.page, "host-console-rejoin");
  await noSeriousAxeFindings(t, h.page, "the console offering to rejoin");

  // Reloading again still knows the call (nothing was forgotten); then "Rejoin the call" works.
  await h.page.route(`**/v1/calls/${call!.id}`, (route) => route.abort("connectionreset"), { times: 1 });
  await h.page.reload();
  await rejoin.waitFor({ timeout: 20_000 });
  await rejoin.click();
  await bothConnected(g.page, h.page);
  t.ok(await rejoin.isHidden(), "the offer is gone once back in the call");
  t.match(await hostCalls(app, host), [{ id: call!.id, status: "active" }], "the same call goes on");

  await h.page.getByRole("button", { name: "Hang up" }).click();
  await untilShown(h.page, "#ended h2", /^Call ended$/);
  t.same(h.problems, [], "host: no CSP violation, no script error");
  t.same(g.problems, [], "guest: no CSP violation, no script error");
});

t.test("a guest whose start got no answer cannot place a second hold: the form keeps its details; after a reload the page asks before it sends the same request again", { skip: NO_BROWSER }, async (t) => {
  const { app } = await servedApp(t);
  const host = await webHost(app, "hana@example.test", "Hana Ito");
  const link = await apiLink(app, host);
  const browser = await launchBrowser(t);
  const g = await newParty(browser, [/Failed to load resource: net::ERR_/]);

  // The initiate reaches the service (the hold is placed, the call made), and its answer is lost.
  await g.page.route("**/v1/calls/initiate", async (route) => {
    await route.fetch();
    await route.abort("connectionreset");
  }, { times: 1 });
  await g.page.goto(link.url);
  const name = g.page.getByLabel("Your name");
  await name.fill("Dora");
  const start = g.page.getByRole("button", { name: "Start call" });
  await start.click();
  t.match(await untilShown(g.page, "#error", /\S/), /could not be reached/i, "the page says the server could not be reached");
  t.match(await hostCalls(app, host, "status=waiting&role=host"), [{ guest: { display_name: "Dora" } }], "yet the call was made");

  // A careful guest fixes a typo in the name before trying again: the form does not let the name
  // (or the card) change until the first attempt has its answer, and says why.
  t.notOk(await name.isEditable(), "the name cannot be changed now");
  t.notOk(await g.page.getByLabel("Card", { exact: true }).isEnabled(), "nor the card");
  t.match(await untilShown(g.page, "#start-pending", /\S/), /cannot place a second hold/, "the page says why");
  await saveScreenshot(g.page, "guest-page-start-pending");
  await noSeriousAxeFindings(t, g.page, "the guest page with a start pending");

  // Trying again gets no answer either (the network is down): now the attempt may also be given up.
  await g.page.route("**/v1/calls/initiate", (route) => route.abort("connectionreset"), { times: 1 });
  await start.click();
  await untilShown(g.page, "#replay-heading", /^Your last attempt may have gone through$/);
  t.equal(await focused(g.page), "replay-heading", "the focus moves to what the page offers now");
  t.ok(await g.page.getByRole("button", { name: "Cancel this attempt" }).isVisible(), "after a retry without an answer, the attempt may be cancelled");
  t.match(await untilShown(g.page, "#replay-summary", /\S/), /Dora.*Visa/, "the page says which attempt it is (name and card)");

  // The guest reloads: the page does not send anything by itself; it says what may have happened.
  const initiates = await countInitiates(g.page);
  await g.page.reload();
  await untilShown(g.page, "#replay-heading", /^Your last attempt may have gone through$/);
  t.equal(await focused(g.page), "replay-heading", "after a reload too, the focus is on it");
  t.match(await untilShown(g.page, "#replay-cancel-hint", /\S/), /cancelled by itself within 5 minutes.*released/, "cancelling says what becomes of a call the attempt made");
  t.notOk(await name.isEditable(), "the form keeps the attempt's details");
  t.equal(await name.inputValue(), "Dora");
  await new Promise((r) => setTimeout(r, 1_500));
  t.equal(initiates.count, 0, "nothing was sent by itself after the reload");
  await saveScreenshot(g.page, "guest-page-check-attempt");
  await noSeriousAxeFindings(t, g.page, "the guest page offering to check an attempt");

  // "Check": the same request again (same guest, same key); its answer is the call it made.
  await g.page.getByRole("button", { name: "Check" }).click();
  await untilShown(g.page, "#call-status", /^Waiting for the host…$/);
  t.equal(initiates.count, 1, "one request, on the guest's word");
  const calls = await hostCalls(app, host);
  t.equal(calls.length, 1, "one call, one hold");
  t.match(calls, [{ status: "waiting", guest: { display_name: "Dora" } }]);

  await g.page.getByRole("button", { name: "Hang up" }).click();
  await untilShown(g.page, "#ended h2", /^Call ended$/);
  t.same(await storedUnder(g.page, "vidivo:guest"), {}, "the call over, the tab keeps nothing of the guest's");
  t.same(g.problems, [], "no CSP violation, no script error");
});

t.test("a kept attempt can be cancelled; one older than 10 minutes, or one for another link, is dropped", { skip: NO_BROWSER }, async (t) => {
  const { app } = await servedApp(t);
  const host = await webHost(app, "hana@example.test", "Hana Ito");
  const link = await apiLink(app, host);
  const browser = await launchBrowser(t);
  const g = await newParty(browser, [/Failed to load resource: net::ERR_/]);
  const name = g.page.getByLabel("Your name");
  const slot = `vidivo:guest-initiate:${link.short_code}`;

  /** A start whose answer is lost (the call is made). */
  const lostStart = async (guestName: string) => {
    await g.page.route("**/v1/calls/initiate", async (route) => {
      await route.fetch();
      await route.abort("connectionreset");
    }, { times: 1 });
    await name.fill(guestName);
    await g.page.getByRole("button", { name: "Start call" }).click();
    await untilShown(g.page, "#error", /could not be reached/i);
  };

  await g.page.goto(link.url);
  await lostStart("Dora");
  const initiates = await countInitiates(g.page);
  await g.page.reload();
  await g.page.getByRole("button", { name: "Cancel this attempt" }).click();
  await until("the form free again", async () => name.isEditable(), 10_000, 100);
  t.ok(await g.page.locator("#replay").isHidden(), "the offer is gone");
  t.equal(await focused(g.page), "guest-name", "the focus is on the form");
  t.same(await storedUnder(g.page, "vidivo:guest"), {}, "the attempt is forgotten");
  t.ok(await g.page.getByLabel("Card", { exact: true }).isEnabled(), "the card can be chosen again");
  t.equal(initiates.count, 0, "nothing was sent");

  // An attempt kept 11 minutes ago: dropped at the next load; the form is free.
  await lostStart("Eve");
  initiates.count = 0;
  await g.page.evaluate(`(() => {
    const kept = JSON.parse(sessionStorage.getItem(${JSON.stringify(slot)}));
    kept.created_at = Date.now() - 11 * 60_000;
    sessionStorage.setItem(${JSON.stringify(slot)}, JSON.stringify(kept));
    sessionStorage.setItem("vidivo:guest-initiate:someOtherLink", JSON.stringify({ ...kept, short_code: "someOtherLink", created_at: Date.now() }));
  })()`);
  await g.page.reload();
  await g.page.getByRole("button", { name: "Start call" }).waitFor({ timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 500));
  t.ok(await name.isEditable(), "an attempt older than 10 minutes does not lock the form");
  t.ok(await g.page.locator("#replay").isHidden(), "nor is it offered");
  t.same(await storedUnder(g.page, "vidivo:guest-initiate"), {}, "it is dropped, and so is what was kept for another link");
  t.equal(initiates.count, 0, "nothing was sent");
  t.same(g.problems, [], "no CSP violation, no script error");
});

t.test("a guest whose start got no answer, on a single-use link it used up, gets the call from the unavailable page after a reload", { skip: NO_BROWSER }, async (t) => {
  const { app } = await servedApp(t);
  const host = await webHost(app, "hana@example.test", "Hana Ito");
  const link = await apiLink(app, host, { max_uses: 1 });
  const browser = await launchBrowser(t);
  // The reloaded page is the 410 one, which Chromium logs as a failed load; the lost answer too.
  const g = await newParty(browser, [/status of 410/, /Failed to load resource: net::ERR_/]);

  await g.page.route("**/v1/calls/initiate", async (route) => {
    await route.fetch();
    await route.abort("connectionreset");
  }, { times: 1 });
  await g.page.goto(link.url);
  await g.page.getByLabel("Your name").fill("Uma");
  await g.page.getByRole("button", { name: "Start call" }).click();
  await untilShown(g.page, "#error", /could not be reached/i);

  // The call took the link's only use: its page is the unavailable one now, with no start form.
  const reloaded = await g.page.reload();
  t.equal(reloaded?.status(), 410, "the used-up link's page is the unavailable one");
  await untilShown(g.page, "#replay-heading", /^Your last attempt may have gone through$/);
  t.equal(await focused(g.page), "replay-heading", "the focus is on the offer");
  t.match(await untilShown(g.page, "#replay-summary", /\S/), /Uma/, "the page names the attempt");
  await noSeriousAxeFindings(t, g.page, "the unavailable page offering to check an attempt");
  await g.page.getByRole("button", { name: "Check" }).click();
  await untilShown(g.page, "#call-status", /^Waiting for the host…$/);
  t.equal(await untilShown(g.page, "h1", /\S/), "Call Hana Ito", "the page names the call");
  const calls = await hostCalls(app, host);
  t.equal(calls.length, 1, "one call, one hold");
  t.match(calls, [{ status: "waiting", guest: { display_name: "Uma" } }]);
  await g.page.getByRole("button", { name: "Hang up" }).click();
  await untilShown(g.page, "#ended h2", /^Call ended$/);
  t.same(await storedUnder(g.page, "vidivo:guest"), {}, "the call over, the tab keeps nothing of the guest's");
  t.same(g.problems, [], "no CSP violation, no script error");
});

t.test("a guest whose page had to leave the call ends it before starting again; one whose call went on in another tab is offered nothing", { skip: NO_BROWSER }, async (t) => {
  const { app } = await servedApp(t);
  const host = await webHost(app, "hana@example.test", "Hana Ito");
  const link = await apiLink(app, host);
  const browser = await launchBrowser(t);
  const g = await newParty(browser, [/status of 401/]);
  const socket = await routeSignaling(g.page);

  await guestStarts(g.page, link.url, "Lea");
  const [first] = await hostCalls(app, host, "status=waiting&role=host");
  // The guest's token stops being accepted (it lasts 24 hours), and the socket drops: the page
  // cannot get back into the call and leaves it. The call still waits for the host.
  await g.page.route("**/v1/calls/*/signaling-token", (route) =>
    route.fulfill({ status: 401, contentType: "application/json", body: JSON.stringify({ error: { code: "unauthorized", message: "Your session has expired." } }) }),
  );
  await socket.drop();
  await untilShown(g.page, "#call-status", /^You left the call\.$/);
  await cameraOff(t, g.page, "the guest who left");
  t.ok(await g.page.getByRole("button", { name: "Start again" }).isHidden(), "no start again while that call may still wait");
  const end = g.page.getByRole("button", { name: "End that call" });
  await end.waitFor({ timeout: 10_000 });
  await noSeriousAxeFindings(t, g.page, "the guest page that left its call");
  await g.page.unroute("**/v1/calls/*/signaling-token");

  // Ending it: its end (nothing charged), then "Start again".
  await end.click();
  await untilShown(g.page, "#ended h2", /^Call ended$/);
  t.match(await untilShown(g.page, "#end-reason", /\S/), /cancelled the call/i, "the call the page left is cancelled");
  t.match(await hostCalls(app, host), [{ id: first!.id, status: "cancelled" }], "at the service too");
  const before = new Set((await hostCalls(app, host)).map((c) => c.id));
  await g.page.getByRole("button", { name: "Start again" }).click();
  t.ok(await g.page.locator("#call").isHidden(), "the call view made way for the start form");
  t.equal(await g.page.getByLabel("Your name").inputValue(), "Lea", "the name is kept");
  await g.page.getByRole("button", { name: "Start call" }).click();
  await untilShown(g.page, "#call-status", /^Waiting for the host…$/);
  const waiting = await hostCalls(app, host, "status=waiting&role=host");
  t.equal(waiting.length, 1, "one call waits for the host");
  t.notOk(before.has(waiting[0]!.id), "a new one");

  // The call is opened in another tab (the server closes this page's socket, 4009): that tab has
  // it. This page offers no new start, which would be a second call and a second hold.
  await socket.drop(4009);
  await untilShown(g.page, "#call-status", /continues in another tab/i);
  await cameraOff(t, g.page, "the guest whose call went to another tab");
  await new Promise((r) => setTimeout(r, 500));
  t.equal(await g.page.getByRole("button", { name: /Start again|End that call/ }).count(), 0, "nothing is offered");
  t.ok(await g.page.getByRole("button", { name: "Start call" }).isHidden(), "nor the start form");
  t.same((await hostCalls(app, host, "status=waiting&role=host")).map((c) => c.id), [waiting[0]!.id], "the call still waits (for the other tab)");
  t.same(g.problems, [], "no CSP violation, no script error");
});

// --- With Stripe ---------------------------------------------------------------------------------

/**
 * A stand-in for Stripe.js (js.stripe.com cannot be reached from the test machines): the Payment
 * Element is a field holding a test card, confirmSetup confirms the SetupIntent at the local
 * Stripe-compatible server (through the test, with the publishable key, as Stripe.js would), and
 * handleNextAction shows a 3-D Secure challenge the card holder completes with a button.
 */
const STRIPE_JS = `(() => {
  window.Stripe = () => ({
    elements({ clientSecret }) {
      let input = null;
      return {
        clientSecret,
        card: () => input.value,
        create: () => ({
          mount(container) {
            const label = document.createElement("label");
            label.textContent = "Card number ";
            input = document.createElement("input");
            input.value = "pm_card_authenticationRequired";
            label.append(input);
            container.replaceChildren(label);
          },
          destroy() {},
          on() {},
        }),
      };
    },
    async confirmSetup({ elements }) {
      const result = await window.__stripeConfirmSetup(elements.clientSecret, elements.card());
      return result.error ? { error: result.error } : { setupIntent: result };
    },
    handleNextAction({ clientSecret }) {
      return new Promise((resolve) => {
        const box = document.createElement("div");
        box.setAttribute("role", "dialog");
        box.setAttribute("aria-label", "3-D Secure");
        box.dataset.clientSecret = clientSecret;
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "Complete authentication";
        button.addEventListener("click", async () => {
          await window.__stripeAuthenticate(clientSecret);
          box.remove();
          resolve({});
        });
        box.append(button);
        document.body.append(box);
      });
    },
  });
})();`;

/**
 * The service with the stripe provider (the local Stripe-compatible server), a host whose Connect
 * onboarding is complete, a link of theirs, and a guest page with the Stripe.js stand-in. `expected`:
 * the guest page's console errors the test causes.
 */
async function withStripe(t: Test, expected: RegExp[]) {
  const stripe = await startStripeServer();
  t.teardown(() => stripe.close());
  const { app } = await servedApp(t, {
    env: {
      PAYMENTS_PROVIDER: "stripe",
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_PUBLISHABLE_KEY: stripe.publishableKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_BASE: stripe.url,
    },
  });
  const host = await webHost(app, "hana@example.test", "Hana Ito");
  // Connect onboarding, completed at Stripe.
  const onboarding = await app.inject({ method: "POST", url: "/v1/payments/connect/onboarding", headers: bearer(await host.token()) });
  t.equal(onboarding.statusCode, 200, onboarding.body);
  const user = await app.db.user.findFirstOrThrow({ where: { emailKey: host.email } });
  const { accountRef } = await app.db.connectAccount.findUniqueOrThrow({ where: { userId: user.id } });
  stripe.completeOnboarding(accountRef);
  const link = await apiLink(app, host);

  const browser = await launchBrowser(t);
  const g = await newParty(browser, expected);
  const payer = new Stripe(stripe.publishableKey, { host: "127.0.0.1", port: stripe.port, protocol: "http", maxNetworkRetries: 0 });
  await g.page.exposeFunction("__stripeConfirmSetup", async (clientSecret: string, card: string) => {
    try {
      const id = clientSecret.split("_secret_")[0]!;
      return await payer.setupIntents.confirm(id, { payment_method: card, client_secret: clientSecret } as Stripe.SetupIntentConfirmParams);
    } catch (err) {
      return { error: { message: (err as Error).message } };
    }
  });
  const counts = { challenges: 0 };
  await g.page.exposeFunction("__stripeAuthenticate", (clientSecret: string) => {
    counts.challenges++;
    stripe.authenticate(clientSecret.split("_secret_")[0]!);
  });
  await g.page.route("https://js.stripe.com/v3/", (route) => route.fulfill({ contentType: "text/javascript", body: STRIPE_JS }));
  return { stripe, app, host, link, g, counts };
}

t.test("with Stripe: a 3-D Secure follow-up whose answer is lost is sent again as it was, with its payment_intent_id: one challenge, one hold", { skip: NO_BROWSER }, async (t) => {
  // The 402 asking for 3-D Secure is logged by Chromium as a failed load, and so is the lost answer.
  const { stripe, app, host, link, g, counts } = await withStripe(t, [/status of 402/, /Failed to load resource: net::ERR_/]);
  // The follow-up initiate (the one with payment_intent_id) reaches the service, and its answer is lost.
  let followUps = 0;
  await g.page.route("**/v1/calls/initiate", async (route) => {
    const body = route.request().postDataJSON() as { payment_intent_id?: string };
    if (body.payment_intent_id && followUps++ === 0) {
      await route.fetch();
      await route.abort("connectionreset");
    } else {
      await route.continue();
    }
  });

  await g.page.goto(link.url);
  await g.page.getByLabel("Card number").waitFor({ timeout: 20_000 });
  await g.page.getByLabel("Your name").fill("Theo");
  const start = g.page.getByRole("button", { name: "Start call" });
  await start.click();
  const complete = g.page.getByRole("button", { name: "Complete authentication" });
  await complete.click({ timeout: 20_000 });
  t.match(await untilShown(g.page, "#error", /\S/), /could not be reached/i, "the follow-up's answer was lost");
  t.equal(followUps, 1, "the follow-up was sent with the authenticated payment_intent_id");

  // Trying again: the same follow-up goes out (same key, same payment_intent_id), and its answer
  // is the call it made. No second challenge, no second hold.
  await start.click();
  const outcome = await until("the call view, or another challenge", async () => {
    if (await g.page.locator("#call").isVisible()) return "call";
    return (await complete.isVisible()) ? "challenge" : null;
  }, 20_000, 100);
  t.equal(outcome, "call", "the guest is in the call, asked for no second 3-D Secure challenge");
  await untilShown(g.page, "#call-status", /^Waiting for the host…$/);
  t.equal(counts.challenges, 1, "one challenge in all");
  t.equal(followUps, 2, "the follow-up was sent again, with its payment_intent_id");
  // (The first initiate, refused for want of 3-D Secure, is recorded as a failed attempt.)
  const made = (await hostCalls(app, host)).filter((c) => c.status !== "failed");
  t.match(made, [{ status: "waiting", guest: { display_name: "Theo" } }], "one call");
  t.equal(made.length, 1, "no second call");
  t.equal(stripe.state.paymentIntents.size, 1, "one hold at Stripe");

  await g.page.getByRole("button", { name: "Hang up" }).click();
  await untilShown(g.page, "#ended h2", /^Call ended$/);
  t.same(await storedUnder(g.page, "vidivo:guest"), {}, "the call over, the tab keeps nothing of the guest's");
  t.same(g.problems, [], "no CSP violation, no script error");
});

t.test("with Stripe: a page reloaded while the guest was at their bank (3-D Secure) gets the call the bank authorised: one hold", { skip: NO_BROWSER }, async (t) => {
  const { stripe, app, host, link, g, counts } = await withStripe(t, [/status of 402/]);
  await g.page.goto(link.url);
  await g.page.getByLabel("Card number").waitFor({ timeout: 20_000 });
  await g.page.getByLabel("Your name").fill("Theo");
  await g.page.getByRole("button", { name: "Start call" }).click();

  // The challenge is up; the guest completes it in their bank's app, and meanwhile the phone's
  // browser discards the tab: it comes back as a reload.
  const challenge = g.page.getByRole("dialog", { name: "3-D Secure" });
  await challenge.waitFor({ timeout: 20_000 });
  const clientSecret = await challenge.getAttribute("data-client-secret");
  stripe.authenticate(clientSecret!.split("_secret_")[0]!);
  const initiates = await countInitiates(g.page);
  await g.page.reload();

  await untilShown(g.page, "#replay-heading", /^Your last attempt may have gone through$/);
  t.equal(await focused(g.page), "replay-heading", "the focus is on the offer");
  t.match(await untilShown(g.page, "#pending-card", /\S/), /the card you entered/i, "the form says which card is used (its field is a new one)");
  t.ok(await g.page.locator("#payment-element").isHidden(), "and does not show a card field that is not that card");
  t.equal(initiates.count, 0, "nothing is sent by itself");
  await saveScreenshot(g.page, "guest-page-check-3ds");
  await noSeriousAxeFindings(t, g.page, "the guest page after a reload during 3-D Secure");

  await g.page.getByRole("button", { name: "Check" }).click();
  await untilShown(g.page, "#call-status", /^Waiting for the host…$/);
  t.equal(counts.challenges, 0, "no challenge on this page (the bank had it)");
  const made = (await hostCalls(app, host)).filter((c) => c.status !== "failed");
  t.match(made, [{ status: "waiting", guest: { display_name: "Theo" } }], "one call");
  t.equal(made.length, 1, "no second call");
  t.equal(stripe.state.paymentIntents.size, 1, "one hold at Stripe");

  await g.page.getByRole("button", { name: "Hang up" }).click();
  await untilShown(g.page, "#ended h2", /^Call ended$/);
  t.same(await storedUnder(g.page, "vidivo:guest"), {}, "the call over, the tab keeps nothing of the guest's");
  t.same(g.problems, [], "no CSP violation, no script error");
});
