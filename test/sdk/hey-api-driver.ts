// A session through the SDK that @hey-api/openapi-ts (fetch client) generates at test time from the
// served document into ./generated (clients.test.ts copies this file there; the repository's
// tsconfig leaves it out, since ./generated exists only in that directory). One function per
// operation, named by its operationId.
import { client } from "./generated/client.gen.ts";
import {
  createGuest, createLink, getMyProfile, initiateCall, listCalls, loginUser, refreshSession, registerUser, resolveLink,
  type InitiateCallData,
} from "./generated/index.ts";
import { ok, PASSWORD, report, type SessionOptions, type SessionReport } from "./session.ts";

export async function session({ baseUrl, email, promote }: SessionOptions): Promise<SessionReport> {
  // The generated client's default is the document's server (PUBLIC_URL); the test's server listens elsewhere.
  client.setConfig({ baseUrl });

  const registered = ok(await registerUser({ body: { email, password: PASSWORD, display_name: "Hey Host" } }), "register");
  await promote(registered.user.id);
  const login = ok(await loginUser({ body: { email, password: PASSWORD } }), "login");
  const refreshed = ok(await refreshSession({ body: { refresh_token: login.refresh_token } }), "refresh");
  // The SDK sends `auth` as the bearer token the operation's security scheme names.
  const host = refreshed.access_token;
  const me = ok(await getMyProfile({ auth: host }), "users/me");

  const { link } = ok(await createLink({ auth: host, body: { rate_per_minute: "2.50", window_size_minutes: 5 } }), "create link");
  const resolved = ok(await resolveLink({ path: { short_code: link.short_code } }), "resolve link");
  const guest = ok(await createGuest({ body: { display_name: "Hey Guest" } }), "guest");

  // The key is the operation's declared header parameter: the SDK's options also take free-form
  // headers, so the object is checked against the declared ones.
  const headers = { "X-Idempotency-Key": crypto.randomUUID() } satisfies InitiateCallData["headers"];
  const initiate = (payment_method_id: string) =>
    initiateCall({
      auth: guest.guest_token,
      headers,
      body: { short_code: link.short_code, payment_method_id },
    });
  const started = ok(await initiate("pm_card_visa"), "initiate");
  const replay = ok(await initiate("pm_card_visa"), "initiate again");
  const reused = await initiate("pm_card_mastercard");
  // The code is typed by the envelope's enum: a code the document does not list would not compile.
  if (reused.error?.error.code !== "idempotency_key_reused") throw new Error(`initiate with a reused key: ${reused.response.status}`);

  const calls = ok(await listCalls({ auth: host, query: { role: "host" } }), "list calls");

  return report({
    registered, login, refreshed, me, link, resolved, started, replay, calls,
    reused: { status: reused.response.status, body: reused.error },
  });
}
