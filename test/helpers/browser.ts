// A real browser for the tests that need one: Debian's Chromium (package `chromium`, which
// .ci/run installs), driven by playwright-core, which never downloads a browser of its own.
// CHROMIUM_PATH names another binary. Without one, those tests are skipped with NO_BROWSER.
// Also: the service listening for them, hosts that sign in, what a page did wrong (script errors,
// CSP violations), axe-core, screenshots kept as CI artifacts, and the page's WebRTC as it sees it.
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from "playwright-core";
import { systemClock } from "../../src/domain/ports/clock.ts";
import { testApp } from "./app.ts";
import { multipart, png } from "./images.ts";
import { PASSWORD, bearer, json, login, register } from "./v1.ts";

type Tap = { teardown(fn: () => unknown): void };

/** The browser binary: CHROMIUM_PATH, or Debian's (the real binary, not its /usr/bin wrapper script). */
const EXECUTABLE = process.env.CHROMIUM_PATH || "/usr/lib/chromium/chromium";

/** Why no browser test can run here, or false when they can. */
export const NO_BROWSER: string | false = existsSync(EXECUTABLE)
  ? false
  : `no Chromium at ${EXECUTABLE}: apt-get install chromium (or set CHROMIUM_PATH)`;

/**
 * A headless Chromium, closed at teardown. Its camera and microphone are Chromium's fake devices,
 * granted without a prompt; peer connections may use the loopback interface (a machine whose only
 * interface is lo still connects two pages).
 */
export async function launchBrowser(t: Tap): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection"],
  });
  t.teardown(() => browser.close());
  return browser;
}

// --- The service in front of real browsers -----------------------------------------------------

/** A port free on 127.0.0.1 just now (the server takes it a moment later). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * The test app on the real clock (a real call lasts real seconds, and the billing engine's ticker
 * runs on its own), listening on 127.0.0.1 with PUBLIC_URL its own address: the links the API hands
 * out (`<PUBLIC_URL>/c/<code>`) and the pictures it serves open in the browser as they are.
 */
export async function servedApp(t: Parameters<typeof testApp>[0], opts: Parameters<typeof testApp>[1] = {}) {
  // The port is free when probed, not promised: another process may take it while the app boots.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const { app, config, dataDir } = await testApp(t, { ...opts, env: { PUBLIC_URL: base, ...opts.env }, overrides: { clock: systemClock, ...opts.overrides } });
    try {
      await app.listen({ port, host: "127.0.0.1" });
      return { app, config, dataDir, base };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt === 5) throw err;
      await app.close();
    }
  }
}

export interface WebHost {
  email: string;
  password: string;
  display_name: string;
  /** A fresh access token (a new API session) for what the test checks through the API. */
  token(): Promise<string>;
}

/** A host account that signs in with e-mail and password (registered, e-mail confirmed, promoted), with a picture when `avatar`. */
export async function webHost(app: FastifyInstance, email: string, displayName: string, { avatar = false } = {}): Promise<WebHost> {
  const s = await register(app, email, { display_name: displayName });
  await app.db.user.updateMany({ where: { emailKey: email }, data: { role: "host", emailVerifiedAt: new Date() } });
  const token = async () => {
    const res = await login(app, email);
    if (res.statusCode !== 200) throw new Error(`login ${email}: ${res.statusCode} ${res.body}`);
    return (res.json() as { access_token: string }).access_token;
  };
  if (avatar) {
    const form = await multipart([{ name: "avatar", data: png(64, 64), filename: "me.png", type: "image/png" }]);
    const res = await app.inject({ method: "PUT", url: "/v1/users/me/avatar", payload: form.payload, headers: { ...form.headers, ...bearer(s.access_token) } });
    if (res.statusCode !== 200) throw new Error(`avatar: ${res.statusCode} ${res.body}`);
  }
  return { email, password: PASSWORD, display_name: displayName, token };
}

/** A link of `host`'s made through the API (rate "3.00", 10-minute windows unless `body` says otherwise). */
export async function apiLink(app: FastifyInstance, host: WebHost, body: Record<string, unknown> = {}) {
  const res = await app.inject({ method: "POST", url: "/v1/links", headers: { ...json, ...bearer(await host.token()) }, payload: { rate_per_minute: "3.00", window_size_minutes: 10, ...body } });
  if (res.statusCode !== 201) throw new Error(`create link: ${res.statusCode} ${res.body}`);
  return (res.json() as { link: { id: string; short_code: string; url: string; rate_per_minute: string; window_size_minutes: number } }).link;
}

/** An API call with the host's (fresh) token; the body as JSON. */
export async function asHost<T = Record<string, unknown>>(app: FastifyInstance, host: WebHost, method: "GET" | "POST" | "DELETE", url: string): Promise<T> {
  const res = await app.inject({ method, url, headers: bearer(await host.token()) });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json() as T;
}

/** Signs `host` in on the console at `base`/host, as a person would; resolves once the console shows "Sign out". */
export async function signInOnConsole(page: Page, base: string, host: WebHost, timeout = 20_000) {
  const res = await page.goto(`${base}/host`);
  if (res?.status() !== 200) throw new Error(`GET /host: ${res?.status()}`);
  await page.getByLabel("Email").fill(host.email);
  await page.getByLabel("Password").fill(host.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor({ timeout });
}

/**
 * Waits until the element `selector` is visible with text matching `re` (trimmed), and returns
 * that text; the failure names what it showed last.
 */
export async function untilShown(page: Page, selector: string, re: RegExp, timeout = 30_000): Promise<string> {
  const el = page.locator(selector);
  const deadline = Date.now() + timeout;
  let last: string;
  for (;;) {
    if ((await el.count()) === 1) {
      last = (await el.isVisible()) ? (await el.innerText()).trim() : `(hidden) ${(await el.textContent())?.trim() ?? ""}`;
      if (!last.startsWith("(hidden)") && re.test(last)) return last;
    } else last = `(${await el.count()} elements)`;
    if (Date.now() > deadline) {
      const problems = watched.get(page);
      throw new Error(`${selector} never showed ${re} (${timeout} ms); it showed: ${JSON.stringify(last)}${problems?.length ? `; the page's problems: ${problems.join("; ")}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// --- What a page did wrong ---------------------------------------------------------------------

/** The problems watchPage collects, by page (untilShown names them when it gives up). */
const watched = new WeakMap<Page, string[]>();

/**
 * Collects a page's script errors, console errors and Content-Security-Policy violations (the
 * policy reports each as a `securitypolicyviolation` event, and blocks what it names), from now
 * on and across navigations. `expected` lists console errors the test causes on purpose (Chromium
 * logs "Failed to load resource: … 402" for a declined card's answer, for one).
 */
export async function watchPage(page: Page, expected: RegExp[] = []): Promise<string[]> {
  const problems: string[] = [];
  watched.set(page, problems);
  page.on("pageerror", (err) => problems.push(`script error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !expected.some((re) => re.test(msg.text()))) problems.push(`console error: ${msg.text()}`);
  });
  await page.exposeFunction("__reportViolation", (what: string) => problems.push(`CSP violation: ${what}`));
  await page.addInitScript({
    content: `document.addEventListener("securitypolicyviolation", (e) => window.__reportViolation(e.violatedDirective + " " + e.blockedURI + " (" + e.sourceFile + ":" + e.lineNumber + ")"));`,
  });
  return problems;
}

// --- Accessibility: axe-core ---------------------------------------------------------------------

const AXE_SOURCE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/**
 * Makes axe-core available in every page of `context`. As an init script: Playwright hands it to
 * the browser through the DevTools protocol, which the page's Content-Security-Policy does not
 * govern, so the pages keep their real policy (an addScriptTag would be an inline <script>, which
 * `script-src 'self'` blocks; `bypassCSP` would switch the policy off for the whole context).
 */
export async function withAxe(context: BrowserContext): Promise<void> {
  await context.addInitScript({ path: AXE_SOURCE });
}

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's violations of the page as it is now (every rule axe runs by default), serious and critical only unless `all`. */
export async function axeViolations(page: Page, { all = false } = {}): Promise<AxeFinding[]> {
  const found = await page.evaluate<AxeFinding[]>(`(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary) }));
  })()`);
  return all ? found : found.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** One line per finding, for a failure message. */
export const describeFindings = (found: AxeFinding[]) => found.map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.join(" | ")}`);

// --- Screenshots (kept by CI as artifacts) -------------------------------------------------------

/** `.artifacts/screenshots/` at the repository root. */
export const SCREENSHOT_DIR = path.join(fileURLToPath(new URL("../../", import.meta.url)), ".artifacts", "screenshots");

/** Saves the whole page as `<name>.png` under SCREENSHOT_DIR; returns the file's path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// --- WebRTC as the page sees it --------------------------------------------------------------------

/**
 * An init script that records, on `window.__webrtc`, every RTCPeerConnection the page makes, every
 * camera/microphone stream it gets, and the ICE username fragment of every remote candidate the
 * page passes to addIceCandidate (the constructor, getUserMedia and addIceCandidate wrapped; the
 * page's code is not touched and has no test hook).
 */
export const RECORD_WEBRTC = `(() => {
  const peers = [];
  const streams = [];
  const added = [];
  Object.defineProperty(window, "__webrtc", { value: { peers, streams, added } });
  const Native = window.RTCPeerConnection;
  if (Native) {
    const addIceCandidate = Native.prototype.addIceCandidate;
    Native.prototype.addIceCandidate = function (candidate, ...rest) {
      added.push(candidate && candidate.usernameFragment ? candidate.usernameFragment : null);
      return addIceCandidate.call(this, candidate, ...rest);
    };
    window.RTCPeerConnection = new Proxy(Native, {
      construct(target, args, newTarget) {
        const pc = Reflect.construct(target, args, newTarget);
        peers.push(pc);
        return pc;
      },
    });
  }
  const media = navigator.mediaDevices;
  if (media && media.getUserMedia) {
    const getUserMedia = media.getUserMedia.bind(media);
    media.getUserMedia = async (constraints) => {
      const stream = await getUserMedia(constraints);
      streams.push(stream);
      return stream;
    };
  }
})();`;

export interface PeerView {
  /** connectionState of every peer connection the page made, oldest first. */
  peers: { state: string; framesDecoded: number; audioSending: boolean | null; videoSending: boolean | null }[];
  /** #remote-video's picture size (0 × 0 until a frame arrived). */
  remote: { width: number; height: number } | null;
  /** Every camera/microphone track the page got: its readyState ("live" or "ended"). */
  tracks: string[];
}

/** The ICE username fragments of the remote candidates the page passed to addIceCandidate, oldest first. */
export function addedCandidates(page: Page): Promise<(string | null)[]> {
  return page.evaluate<(string | null)[]>(`window.__webrtc ? [...window.__webrtc.added] : []`);
}

/** What the page's peer connections are doing now: state, video frames decoded (getStats inbound-rtp), what is sent. */
export function peerView(page: Page): Promise<PeerView> {
  return page.evaluate<PeerView>(`(async () => {
    const w = window.__webrtc;
    const peers = [];
    for (const pc of w ? w.peers : []) {
      let framesDecoded = 0;
      if (pc.connectionState !== "closed") {
        (await pc.getStats()).forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === "video") framesDecoded += s.framesDecoded || 0;
        });
      }
      const sending = (kind) => {
        const sender = pc.getSenders().find((s) => s.track && s.track.kind === kind);
        return sender ? sender.track.enabled && sender.track.readyState === "live" : null;
      };
      peers.push({ state: pc.connectionState, framesDecoded, audioSending: sending("audio"), videoSending: sending("video") });
    }
    const v = document.getElementById("remote-video");
    return {
      peers,
      remote: v ? { width: v.videoWidth, height: v.videoHeight } : null,
      tracks: (w ? w.streams : []).flatMap((s) => s.getTracks().map((t) => t.readyState)),
    };
  })()`);
}

// --- The signaling socket as the network sees it ---------------------------------------------------

/** A signaling frame (docs/signaling.md), parsed. */
export type Frame = { type: string } & Record<string, unknown>;

export interface SignalingRoute {
  /** Every frame the page sent, on any of its sockets, oldest first. */
  sent: Frame[];
  /** Every frame the server sent the page (before `toPage` had its say), oldest first. */
  received: Frame[];
  /**
   * Cuts the page's open sockets, as a network that drops the connection does: the page sees its
   * socket close (code 4000, or `code`: 4009 says another connection took the call over), the
   * server sees its side close. The page's next socket goes through.
   */
  drop(code?: number): Promise<void>;
  /** Sends the page a frame on its open sockets, as if the server had sent it. */
  send(frame: Frame): void;
}

/** Close codes a client may send: 1000, or an application's 3000-4999 (1005, 1006… are reserved). */
const sendable = (code: number | undefined) => (code === 1000 || (code !== undefined && code >= 3000 && code <= 4999) ? code : 1000);

/**
 * Puts the network between `page` and the service's signaling sockets (`/ws`), from now on:
 * frames pass both ways, the page's are recorded, and `toPage` may change or drop (null) each frame
 * the server sends the page. For tests that lose frames or connections on purpose.
 */
export async function routeSignaling(page: Page, toPage: (frame: Frame, route: SignalingRoute) => Frame | null = (frame) => frame): Promise<SignalingRoute> {
  const sent: Frame[] = [];
  const received: Frame[] = [];
  const open = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>();
  await page.routeWebSocket(/\/ws\?/, (ws) => {
    const server = ws.connectToServer();
    const pair = { page: ws, server };
    open.add(pair);
    ws.onMessage((message) => {
      try {
        sent.push(JSON.parse(String(message)) as Frame);
      } catch {
        // not JSON: passed on as it is
      }
      server.send(message);
    });
    server.onMessage((message) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(message)) as Frame;
      } catch {
        ws.send(message);
        return;
      }
      received.push(frame);
      const out = toPage(frame, route);
      if (out) ws.send(out === frame ? message : JSON.stringify(out));
    });
    ws.onClose((code, reason) => {
      if (open.delete(pair)) void server.close({ code: sendable(code), reason });
    });
    server.onClose((code, reason) => {
      if (open.delete(pair)) void ws.close({ code: code ?? 1005, reason });
    });
  });
  const route: SignalingRoute = {
    sent,
    received,
    async drop(code = 4000) {
      for (const pair of [...open]) {
        open.delete(pair);
        await pair.server.close({ code: 1000, reason: "dropped" });
        await pair.page.close({ code, reason: "dropped" });
      }
    },
    send(frame) {
      for (const pair of open) pair.page.send(JSON.stringify(frame));
    },
  };
  return route;
}

/**
 * A browser context and page for one side of a call (UTC: the "paid until HH:MM" the page shows
 * can be read against the API's instants); `expected`: console errors the test causes on purpose.
 */
export async function newParty(browser: Browser, expected: RegExp[] = []) {
  const context = await browser.newContext({ timezoneId: "UTC", viewport: { width: 1100, height: 800 } });
  await context.addInitScript({ content: RECORD_WEBRTC });
  await withAxe(context);
  const page = await context.newPage();
  const problems = await watchPage(page, expected);
  return { context, page, problems };
}
