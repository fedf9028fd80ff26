// A real browser for the tests that need one: Debian's Chromium (package `chromium`, which
// .ci/run installs), driven by playwright-core, which never downloads a browser of its own.
// CHROMIUM_PATH names another binary. Without one, those tests are skipped with NO_BROWSER.
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

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
