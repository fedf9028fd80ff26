// The SDK proof: a typed client generated from openapi.yaml (openapi-typescript types, the same
// ones the server's handlers are checked against, + openapi-fetch) drives register, login, refresh
// and users/me against a listening server. `tsc` type-checks these calls against the spec.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import t from "tap";
import createClient from "openapi-fetch";
import openapiTS, { astToString } from "openapi-typescript";
import type { paths } from "../../src/contract/generated/api.d.ts";
import { testApp } from "../helpers/app.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

t.test("the client types are generated from openapi.yaml", async (t) => {
  const ast = await openapiTS(new URL(`file://${root}openapi.yaml`), { alphabetize: false, exportType: false });
  const generated = readFileSync(`${root}src/contract/generated/api.d.ts`, "utf8");
  // openapi-typescript's output, then the generator's own operationSecurity interface.
  t.ok(generated.includes(astToString(ast)), "the committed types are what openapi.yaml generates today");
});

t.test("register, login, refresh and users/me through the generated client", async (t) => {
  const { app } = await testApp(t);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const api = createClient<paths>({ baseUrl });

  const reg = await api.POST("/v1/auth/register", { body: { email: "sdk@example.com", password: "sdk password 1", display_name: "SDK" } });
  t.equal(reg.response.status, 201);
  if (!reg.data) throw new Error(JSON.stringify(reg.error));
  t.equal(reg.data.user.display_name, "SDK");
  t.equal(reg.data.user.role, "user");

  const bad = await api.POST("/v1/auth/login", { body: { email: "sdk@example.com", password: "wrong password" } });
  t.equal(bad.response.status, 401);
  t.equal(bad.error?.error.code, "invalid_credentials", "errors are typed too");

  const login = await api.POST("/v1/auth/login", { body: { email: "sdk@example.com", password: "sdk password 1" } });
  if (!login.data) throw new Error(JSON.stringify(login.error));
  t.equal(login.data.user.id, reg.data.user.id);

  const refreshed = await api.POST("/v1/auth/refresh", { body: { refresh_token: login.data.refresh_token } });
  if (!refreshed.data) throw new Error(JSON.stringify(refreshed.error));
  t.not(refreshed.data.refresh_token, login.data.refresh_token);

  const me = await api.GET("/v1/users/me", { headers: { authorization: `Bearer ${refreshed.data.access_token}` } });
  t.equal(me.response.status, 200);
  t.same(me.data, {
    id: reg.data.user.id, email: "sdk@example.com", username: null, display_name: "SDK", bio: null, avatar_url: null,
    role: "user", email_verified: false, created_at: reg.data.user.created_at,
  });
  t.equal(me.response.headers.get("x-ratelimit-limit"), "10000");

  const updated = await api.PATCH("/v1/users/me", { headers: { authorization: `Bearer ${refreshed.data.access_token}` }, body: { bio: "made by the SDK" } });
  t.equal(updated.data?.bio, "made by the SDK");

  const out = await api.POST("/v1/auth/logout", { body: { refresh_token: refreshed.data.refresh_token } });
  t.equal(out.response.status, 204);
  const after = await api.POST("/v1/auth/refresh", { body: { refresh_token: refreshed.data.refresh_token } });
  t.equal(after.response.status, 401);
  t.equal(after.error?.error.code, "unauthorized");
});
