// The Vonage Users API over node's fetch: `${apiBase}/v1/users…`, JSON both ways, each request
// authorised with an application JWT (what Vonage's own server SDK sends: RS256 with the
// application's key, header {"alg":"RS256","typ":"JWT"}, claims application_id, iat, jti and
// exp = iat + 15 min, no sub, no acl). One token serves every request until a minute before it
// expires, by the injected clock. Each request has its own timeout; nothing is retried here (the
// caller knows whether a retry is safe), and the token never appears in an error or a log.
//
// Paging: Vonage answers a page with `_links.next.href`, an absolute URL that may name a regional
// host. Its query (cursor, page_size, order, name) is sent to our own base URL, as Vonage's SDK
// does, so the application's token only ever goes to the configured host.
import { randomUUID } from "node:crypto";
import { createSigner } from "fast-jwt";
import {
  DUPLICATE_NAME_CODE,
  VonageDuplicateName,
  VonageRefused,
  VonageUnavailable,
  VonageUserNotFound,
  type VonageProblem,
  type VonageUser,
  type VonageUserSummary,
  type VonageUsers,
} from "../../domain/ports/vonage-users.ts";

export interface VonageUsersSettings {
  applicationId: string;
  /** The application's private key, PEM (RSA). */
  privateKeyPem: string;
  /** An origin such as https://api.nexmo.com (no trailing slash needed). */
  apiBase: string;
  /** The service's clock, in ms: the token's iat and exp, and its renewal. */
  now: () => number;
  /** Per request, answer included (default 5 s). */
  timeoutMs?: number;
}

/** The application token's lifetime (Vonage's default and its SDK's), and how early it is renewed. */
export const APPLICATION_TOKEN_TTL_SECONDS = 900;
export const APPLICATION_TOKEN_RENEW_SECONDS = 60;
const PAGE_SIZE = 100;

type Json = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function summaryOf(body: unknown): VonageUserSummary | null {
  if (typeof body !== "object" || body === null) return null;
  const u = body as Json;
  const id = str(u.id);
  const name = str(u.name);
  if (!id || name === null) return null;
  return { id, name, displayName: str(u.display_name) };
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function userOf(body: unknown): VonageUser | null {
  const summary = summaryOf(body);
  if (!summary) return null;
  const { image_url, properties } = body as Json;
  const customData = isObject(properties) && isObject(properties.custom_data) ? properties.custom_data : {};
  return { ...summary, imageUrl: str(image_url), customData };
}

function problemOf(status: number, body: unknown): VonageProblem {
  const b = typeof body === "object" && body !== null ? (body as Json) : {};
  return { status, type: str(b.type), title: str(b.title), code: str(b.code), detail: str(b.detail), instance: str(b.instance) };
}

/** Retry-After in seconds (delta-seconds or an HTTP date), or null. */
function retryAfter(header: string | null, now: number): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

export function vonageUsers(settings: VonageUsersSettings): VonageUsers {
  const base = settings.apiBase.replace(/\/+$/, "");
  const timeoutMs = settings.timeoutMs ?? 5000;
  const signer = createSigner({ key: settings.privateKeyPem, algorithm: "RS256" });
  let cached: { token: string; renewAt: number } | null = null;

  function token(): string {
    const now = settings.now();
    if (!cached || now >= cached.renewAt) {
      const iat = Math.floor(now / 1000);
      const exp = iat + APPLICATION_TOKEN_TTL_SECONDS;
      cached = { token: signer({ application_id: settings.applicationId, iat, jti: randomUUID(), exp }), renewAt: (exp - APPLICATION_TOKEN_RENEW_SECONDS) * 1000 };
    }
    return cached.token;
  }

  /** One request; a 2xx answers its parsed body (null when empty), anything else throws the port's error. */
  async function request(method: string, pathAndQuery: string, body?: Json, id?: string): Promise<unknown> {
    const what = `${method} ${pathAndQuery.split("?")[0]}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${base}${pathAndQuery}`, {
        method,
        headers: {
          Authorization: `Bearer ${token()}`,
          Accept: "application/json",
          ...(body ? { "Content-Type": "application/json" } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why = e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : `${e.message}${e.cause?.code ? ` (${e.cause.code})` : ""}`;
      throw new VonageUnavailable(`vonage ${what}: ${why}`, 0);
    }
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.ok) throw new VonageUnavailable(`vonage ${what}: ${res.status} with a body that is not JSON`, res.status);
      }
    }
    if (res.ok) return parsed;
    const problem = problemOf(res.status, parsed);
    if (problem.code === DUPLICATE_NAME_CODE) throw new VonageDuplicateName(str((body ?? {}).name) ?? "", problem);
    if (res.status === 429 || res.status >= 500) {
      throw new VonageUnavailable(`vonage ${what}: ${res.status} ${problem.title ?? ""}`.trim(), res.status, retryAfter(res.headers.get("retry-after"), settings.now()));
    }
    if (res.status === 404 && id !== undefined) throw new VonageUserNotFound(id);
    throw new VonageRefused(problem);
  }

  const userPath = (id: string) => `/v1/users/${encodeURIComponent(id)}`;

  function expectUser(body: unknown, what: string): VonageUser {
    const user = userOf(body);
    if (!user) throw new VonageUnavailable(`vonage ${what}: the answer is not a user`, 200);
    return user;
  }

  /** Pages of a list query, following `_links.next` (its query, on our base). */
  async function* pagesOf(query: URLSearchParams): AsyncGenerator<VonageUserSummary[]> {
    let next: string | null = `/v1/users?${query}`;
    const seen = new Set<string>();
    while (next) {
      seen.add(next);
      const page = (await request("GET", next)) as Json | null;
      const embedded = page?._embedded as Json | undefined;
      const items = Array.isArray(embedded?.users) ? (embedded.users as unknown[]) : [];
      const users = items.map(summaryOf);
      if (users.some((u) => u === null)) throw new VonageUnavailable("vonage GET /v1/users: a list item is not a user", 200);
      yield users as VonageUserSummary[];
      const href = str(((page?._links as Json | undefined)?.next as Json | undefined)?.href);
      next = href ? `/v1/users?${new URL(href, base).searchParams}` : null;
      if (next && seen.has(next)) throw new VonageUnavailable("vonage GET /v1/users: the next page is one already read", 200);
    }
  }

  return {
    async create(input) {
      const body: Json = {
        name: input.name,
        display_name: input.displayName,
        ...(input.imageUrl !== undefined ? { image_url: input.imageUrl } : {}),
        ...(input.customData !== undefined ? { properties: { custom_data: input.customData } } : {}),
      };
      return expectUser(await request("POST", "/v1/users", body), "POST /v1/users");
    },

    async get(id) {
      return expectUser(await request("GET", userPath(id), undefined, id), "GET /v1/users/{id}");
    },

    async findByName(name) {
      // `name` filters the list; only an exact match counts, whatever the filter's semantics.
      for await (const page of pagesOf(new URLSearchParams({ name, page_size: String(PAGE_SIZE) }))) {
        const found = page.find((u) => u.name === name);
        if (found) return found;
      }
      return null;
    },

    async update(id, changes) {
      const body: Json = {
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.displayName !== undefined ? { display_name: changes.displayName } : {}),
        ...(changes.imageUrl !== undefined ? { image_url: changes.imageUrl } : {}),
      };
      return expectUser(await request("PATCH", userPath(id), body, id), "PATCH /v1/users/{id}");
    },

    async delete(id) {
      await request("DELETE", userPath(id), undefined, id);
    },

    pages() {
      return pagesOf(new URLSearchParams({ page_size: String(PAGE_SIZE) }));
    },
  };
}
