// Error messages in English, Spanish and French from Accept-Language; codes and statuses never change.
import t from "tap";
import type { InjectOptions } from "fastify";
import { errorStatus, AppError, type ErrorCode } from "../../src/domain/errors.ts";
import { messages } from "../../src/http/i18n.ts";
import { renderV1 } from "../../src/routes/v1/errors.ts";
import { testApp } from "../helpers/app.ts";
import { bearer, json, PASSWORD, register } from "../helpers/v1.ts";

const { app } = await testApp(t);

t.test("every code reachable on the identity routes, in three languages", async (t) => {
  const user = await register(app, "ann@example.com");
  const requests: [ErrorCode, () => InjectOptions][] = [
    ["validation_error", () => ({ method: "POST", url: "/v1/auth/register", headers: json, payload: { email: "nope" } })],
    ["unauthorized", () => ({ method: "GET", url: "/v1/users/me" })],
    ["invalid_credentials", () => ({ method: "POST", url: "/v1/auth/login", headers: json, payload: { email: "ann@example.com", password: "wrong password" } })],
    ["forbidden", () => ({ method: "GET", url: "/v1/admin/users", headers: bearer(user.access_token) })],
    ["not_found", () => ({ method: "GET", url: "/v1/no/such/route" })],
    ["conflict", () => ({ method: "POST", url: "/v1/auth/register", headers: json, payload: { email: "ann@example.com", password: PASSWORD } })],
    ["payload_too_large", () => ({ method: "POST", url: "/v1/auth/login", headers: json, payload: JSON.stringify({ email: "x".repeat(1024 * 1024) }) })],
    ["unsupported_media_type", () => ({ method: "POST", url: "/v1/auth/login", headers: { "content-type": "text/plain" }, payload: "hi" })],
  ];
  for (const [code, request] of requests) {
    const seen = new Map<string, string>();
    for (const [header, lang] of [[undefined, "en"], ["es", "es"], ["fr-CA,fr;q=0.9,en;q=0.5", "fr"], ["de, es;q=0.8, fr;q=0.7", "es"], ["*", "en"], ["en;q=0.2, fr;q=0.9", "fr"], ["xx", "en"]] as const) {
      const req = request();
      const res = await app.inject({ ...req, headers: { ...req.headers, ...(header ? { "accept-language": header } : {}) } });
      t.equal(res.statusCode, errorStatus[code], `${code} ${header ?? "(none)"}: the status never changes`);
      t.equal(res.json().error.code, code, "nor the code");
      t.equal(res.headers["content-language"], lang, `${code} ${header ?? "(none)"} → ${lang}`);
      t.equal(res.json().error.message, messages[lang][code]);
      seen.set(lang, res.json().error.message);
    }
    t.equal(new Set(seen.values()).size, 3, `${code}: three different messages`);
  }
});

t.test("every v1 error code has its own translation in each language", async (t) => {
  for (const code of Object.keys(errorStatus) as ErrorCode[]) {
    const en = renderV1(new AppError(code), undefined);
    const es = renderV1(new AppError(code), "es");
    const fr = renderV1(new AppError(code), "fr-FR");
    t.same([en.lang, es.lang, fr.lang], ["en", "es", "fr"]);
    for (const r of [en, es, fr]) {
      t.equal(r.body.error.code, code);
      t.ok(r.body.error.message.length > 5, `${code} ${r.lang}`);
    }
    t.not(es.body.error.message, en.body.error.message, `${code} is translated to Spanish`);
    t.not(fr.body.error.message, en.body.error.message, `${code} is translated to French`);
    t.not(fr.body.error.message, es.body.error.message);
  }
});

t.test("negotiation follows the weights: malformed ones are ignored, * means the languages not named, q=0 refuses", async (t) => {
  const cases: [string, string][] = [
    ["es;q=abc, fr;q=0.9", "fr"],
    ["es;q=2, fr;q=0.5", "fr"],
    ["es;q=0.5;level=1, fr;q=0.4", "fr"],
    ["en;q=0, *", "es"],
    ["en;q=0, es;q=0, *;q=0.3", "fr"],
    ["*;q=0.5, fr", "fr"],
    ["fr;q=0, es;q=0, en;q=0", "en"],
    ["es-MX;q=0.2, es-ES;q=0.8, fr;q=0.5", "es"],
    ["FR-ca", "fr"],
    ["fr;q=0.500, es;q=0.5", "fr"],
    [" , ;q=1, es", "es"],
    ["es;q=0, es-MX;q=0.8, fr;q=0.1", "fr"],
    ["es-MX;q=0.9, es;q=0.2, fr;q=0.5", "fr"],
  ];
  for (const [header, lang] of cases) {
    const res = await app.inject({ method: "GET", url: "/v1/users/me", headers: { "accept-language": header } });
    t.equal(res.headers["content-language"], lang, header);
    t.equal(res.json().error.message, messages[lang as "en" | "es" | "fr"].unauthorized);
  }
});
