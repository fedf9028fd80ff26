// The API documentation in a real browser: Swagger UI at /docs renders every operation of
// openapi.yaml under the security headers this service sends (its pages keep their own
// Content-Security-Policy), with no policy violation and no script error.
import t from "tap";
import { testApp } from "../helpers/app.ts";
import { launchBrowser, NO_BROWSER } from "../helpers/browser.ts";
import { loadContract } from "../../src/contract/spec.ts";

t.test("Swagger UI at /docs renders every operation, with no CSP violation or script error", { skip: NO_BROWSER }, async (t) => {
  const { app } = await testApp(t);
  const base = await app.listen({ port: 0, host: "127.0.0.1" });
  const operations = [...(await loadContract()).operations.values()];
  const browser = await launchBrowser(t);
  const page = await (await browser.newContext()).newPage();

  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`script error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
  });
  // A policy violation is reported to the page as an event (and blocks what it names).
  await page.exposeFunction("reportViolation", (what: string) => problems.push(`CSP violation: ${what}`));
  await page.addInitScript({
    content: `document.addEventListener("securitypolicyviolation", (e) => window.reportViolation(e.violatedDirective + " " + e.blockedURI));`,
  });

  const res = await page.goto(`${base}/docs/`);
  t.equal(res?.status(), 200);
  t.notMatch(String(res?.headers()["content-security-policy"]), /default-src 'none'/, "the docs page has Swagger UI's policy, not the API's");
  await page.waitForSelector(".opblock", { timeout: 20_000 });
  const rendered = await page.locator(".opblock").count();
  t.equal(rendered, operations.length, `every operation is rendered (${operations.length})`);
  t.match(await page.locator(".info .title").innerText(), /Vidivo/, "the document's title");
  t.same(problems, [], "no policy violation, no script error");
});
