// Small V-app client helpers over inject().
import type { FastifyInstance } from "fastify";

export const json = { "content-type": "application/json" };

export async function signup(app: FastifyInstance, name: string, extra: Record<string, unknown> = {}) {
  const res = await app.inject({
    method: "POST",
    url: "/signup",
    headers: json,
    payload: { name, password: "correct horse", display_name: `${name} display`, ...extra },
  });
  if (res.statusCode !== 201) throw new Error(`signup ${name}: ${res.statusCode} ${res.body}`);
  return res.json() as { user: { id: string; name: string; display_name: string; image_url: string | null }; token: string; users: unknown[] };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export const VALIDATION = { type: "data:validation", title: "Bad Request", detail: "The request failed due to validation errors" };
export const BAD_CREDENTIALS = { type: "auth:unauthorized", title: "Bad Request", detail: "The request failed due to invalid credentials" };
export const MISSING_TOKEN = { type: "auth:missingtoken", title: "Bad Request", detail: "The request failed due to a missing token" };
export const BAD_TOKEN = { type: "auth:badtoken", title: "Bad Request", detail: "The request failed due to an incorrect token" };
export const MISSING_USER_ID = { type: "auth:missinguserid", title: "Bad Request", detail: "The request failed due to an incorrect token" };
