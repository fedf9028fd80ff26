// A session through openapi-fetch over openapi-typescript's types, generated at test time from the
// served document into ./generated/api.ts (clients.test.ts copies this file there; the repository's
// tsconfig leaves it out, since ./generated exists only in that directory).
import createClient from "openapi-fetch";
import type { paths } from "./generated/api.ts";
import { ok, PASSWORD, report, type SessionOptions, type SessionReport } from "./session.ts";

export async function session({ baseUrl, email, promote }: SessionOptions): Promise<SessionReport> {
  const api = createClient<paths>({ baseUrl });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  const registered = ok(await api.POST("/v1/auth/register", { body: { email, password: PASSWORD, display_name: "Fetch Host" } }), "register");
  await promote(registered.user.id);
  const login = ok(await api.POST("/v1/auth/login", { body: { email, password: PASSWORD } }), "login");
  const refreshed = ok(await api.POST("/v1/auth/refresh", { body: { refresh_token: login.refresh_token } }), "refresh");
  const host = bearer(refreshed.access_token);
  const me = ok(await api.GET("/v1/users/me", { headers: host }), "users/me");

  const { link } = ok(await api.POST("/v1/links", { headers: host, body: { rate_per_minute: "2.50", window_size_minutes: 5 } }), "create link");
  const resolved = ok(await api.GET("/v1/links/resolve/{short_code}", { params: { path: { short_code: link.short_code } } }), "resolve link");
  const guest = ok(await api.POST("/v1/auth/guest", { body: { display_name: "Fetch Guest" } }), "guest");

  // The key is the operation's declared header parameter, not a free-form header.
  const key = crypto.randomUUID();
  const initiate = (payment_method_id: string) =>
    api.POST("/v1/calls/initiate", {
      headers: bearer(guest.guest_token),
      params: { header: { "X-Idempotency-Key": key } },
      body: { short_code: link.short_code, payment_method_id },
    });
  const started = ok(await initiate("pm_card_visa"), "initiate");
  const replay = ok(await initiate("pm_card_visa"), "initiate again");
  const reused = await initiate("pm_card_mastercard");
  // The code is typed by the envelope's enum: a code the document does not list would not compile.
  if (reused.error?.error.code !== "idempotency_key_reused") throw new Error(`initiate with a reused key: ${reused.response.status}`);

  const calls = ok(await api.GET("/v1/calls", { headers: host, params: { query: { role: "host" } } }), "list calls");

  return report({
    registered, login, refreshed, me, link, resolved, started, replay, calls,
    reused: { status: reused.response.status, body: reused.error },
  });
}
