// A local, in-memory Vonage Users API for tests: a node:http server on loopback that the service's
// VONAGE_API_BASE points at. Vonage cannot be reached from the test machines, so this is the only
// double at that edge, and it follows Vonage's wire format (docs/vapp.md, "Vonage mode"):
//   POST   /v1/users          {name, display_name?, image_url?} → 201 user; a name taken → 409 user:error:duplicate-name
//   GET    /v1/users/{id}     → 200 user, or 404 user:error:not-found
//   PATCH  /v1/users/{id}     the fields given → 200 user
//   DELETE /v1/users/{id}     → 204
//   GET    /v1/users          ?page_size (1–100, default 10) &order (asc|desc) &name (exact) &cursor
//                             → {page_size, _embedded: {users: [summary…]}, _links: {first, self, next?}}
// A user is {id: "USR-<uuid>", name, display_name?, image_url?, properties: {custom_data: {}},
// _links: {self: {href}}}; list items are summaries (id, name, display_name, _links). `_links` are
// absolute URLs on this server, and the cursor is opaque base64 (URL-encoded in the links). Errors
// are Vonage's problem bodies: {type, title, code, detail, instance}.
//
// Every request must carry `Authorization: Bearer <application JWT>`: RS256, signed by the
// application's key, `application_id` this application, `iat` and `jti` present, unexpired by the
// server's clock (`exp`, or iat + 15 min when absent as Vonage defaults) and at most 24 hours long.
// Otherwise 401, as Vonage answers.
//
// Test controls: `fail` (the next N matching requests answer 5xx or 429, or are cut off before or
// after they execute: `lost_response` creates the user and then destroys the socket;
// `arrives_late` destroys the socket at once and executes the request LATE_MS later), `delay` (the
// next N matching answers are held back, after executing, to provoke timeouts), `users` (the state)
// and `requests` (every request seen, with its token's claims).
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as jose from "jose";
import { Rules, readBody, type RequestMatch } from "./stand-in.ts";

export type VonageFault = "server_error" | "service_unavailable" | "rate_limited" | "unreachable" | "lost_response" | "arrives_late";

/** How long after its connection was cut an `arrives_late` request executes. */
export const LATE_MS = 300;

/** Which requests a fault or delay applies to; every given field must match. */
export type { RequestMatch };

export interface VonageRequestLogEntry {
  method: string;
  /** Without the query. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** The bearer token when it verified (its header and claims), else null. */
  token: { jti: string; iat: number; exp: number; header: jose.JWTHeaderParameters; claims: jose.JWTPayload } | null;
  /** The status sent (for `lost_response` the one computed but never sent; 0 for `unreachable`). */
  status: number;
  fault: VonageFault | null;
}

export interface VonageUserRecord {
  id: string;
  name: string;
  display_name?: string;
  image_url?: string;
  properties: { custom_data: Record<string, unknown> };
}

export interface VonageServer {
  url: string;
  port: number;
  applicationId: string;
  /** The application's private key (PKCS#8 PEM): what the service is configured with. */
  privateKeyPem: string;
  /** Users by id, in creation order. */
  users: Map<string, VonageUserRecord>;
  requests: VonageRequestLogEntry[];
  /** The next `count` matching requests fail as `kind` (before the token is checked, except lost_response). */
  fail(count: number, kind: VonageFault, match?: RequestMatch & { retryAfterSeconds?: number }): void;
  /** The next `count` matching answers are sent `ms` late (the request has executed). */
  delay(ms: number, count?: number, match?: RequestMatch): void;
  /** Adds a user directly (as if created elsewhere, e.g. by Vonage's dashboard). */
  seed(user: { name: string; display_name?: string; image_url?: string }): VonageUserRecord;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
  reply(): Reply {
    return {
      status: this.status,
      headers: this.headers,
      body: { type: `https://developer.vonage.com/api/conversation#${this.code}`, title: this.title, code: this.code, detail: this.detail, instance: randomUUID().replace(/-/g, "") },
    };
  }
}

// ⚠ Vonage's exact 401 body is not documented beyond the generic problem shape; its status is.
const unauthorized = (detail: string) => new Problem(401, "system:error:invalid-token", "Unauthorized", detail);
const notFound = () => new Problem(404, "user:error:not-found", "Not found.", "User does not exist, or you do not have access.");
const invalidParams = (detail: string) => new Problem(400, "http:error:validation-fail", "Bad Request", detail);

const MAX_TOKEN_SECONDS = 24 * 3600;
const DEFAULT_TOKEN_SECONDS = 900;

export async function startVonageServer(opts: { now?: () => number; applicationId?: string; privateKeyPem?: string } = {}): Promise<VonageServer> {
  const now = opts.now ?? Date.now;
  const applicationId = opts.applicationId ?? randomUUID();
  const privateKey: KeyObject = opts.privateKeyPem ? createPrivateKey(opts.privateKeyPem) : generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const privateKeyPem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const publicKey = createPublicKey(privateKey);
  const users = new Map<string, VonageUserRecord>();
  const log: VonageRequestLogEntry[] = [];
  const faults = new Rules<{ kind: VonageFault; retryAfterSeconds: number }>();
  const delays = new Rules<number>();
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const record = (u: VonageUserRecord) => ({ ...u, _links: { self: { href: `${url}/v1/users/${u.id}` } } });
  const summary = (u: VonageUserRecord) => ({ id: u.id, name: u.name, ...(u.display_name !== undefined ? { display_name: u.display_name } : {}), _links: { self: { href: `${url}/v1/users/${u.id}` } } });

  async function authorize(req: http.IncomingMessage): Promise<VonageRequestLogEntry["token"]> {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "");
    if (!m) throw unauthorized("You did not provide correct credentials.");
    let payload: jose.JWTPayload;
    let header: jose.JWTHeaderParameters;
    try {
      // Expiry is checked below (exp is optional at Vonage).
      ({ payload, protectedHeader: header } = await jose.jwtVerify(m[1]!, publicKey, { algorithms: ["RS256"], currentDate: new Date(now()), requiredClaims: ["iat", "jti"] }));
    } catch {
      throw unauthorized("Invalid Token");
    }
    if (payload.application_id !== applicationId) throw unauthorized("Invalid Token");
    const iat = payload.iat!;
    const exp = payload.exp ?? iat + DEFAULT_TOKEN_SECONDS;
    if (exp * 1000 <= now() || exp - iat > MAX_TOKEN_SECONDS) throw unauthorized("Invalid Token");
    return { jti: payload.jti!, iat, exp, header, claims: payload };
  }

  function field(body: Record<string, unknown>, name: string): string | undefined {
    const v = body[name];
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw invalidParams(`${name} must be a string`);
    return v;
  }

  const nameTaken = (name: string, except?: string) => [...users.values()].some((u) => u.name === name && u.id !== except);
  const duplicate = (name: string) => new Problem(409, "user:error:duplicate-name", "Conflict", `User with name '${name}' already exists.`);

  function list(query: URLSearchParams): Reply {
    const pageSize = Number(query.get("page_size") ?? "10");
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw invalidParams("page_size must be between 1 and 100");
    const order = (query.get("order") ?? "asc").toLowerCase();
    if (order !== "asc" && order !== "desc") throw invalidParams("order must be asc or desc");
    const name = query.get("name");
    let all = [...users.values()].filter((u) => name === null || u.name === name);
    if (order === "desc") all = all.reverse();
    let start = 0;
    const cursor = query.get("cursor");
    if (cursor) {
      // The cursor names the last user of the previous page; a deleted one is found by position.
      const m = /^after:(\d+)$/.exec(Buffer.from(cursor, "base64").toString("utf8"));
      if (!m) throw invalidParams("cursor is invalid");
      const position = Number(m[1]);
      start = all.findIndex((u) => (order === "asc" ? seq.get(u.id)! > position : seq.get(u.id)! < position));
      if (start < 0) start = all.length;
    }
    const page = all.slice(start, start + pageSize);
    const link = (extra: Record<string, string>) => {
      const q = new URLSearchParams({ order, page_size: String(pageSize), ...(name !== null ? { name } : {}), ...extra });
      return { href: `${url}/v1/users?${q}` };
    };
    const last = page.at(-1);
    const more = start + pageSize < all.length && last;
    return {
      status: 200,
      body: {
        page_size: pageSize,
        _embedded: { users: page.map(summary) },
        _links: {
          first: link({}),
          self: link(cursor ? { cursor } : {}),
          ...(more ? { next: link({ cursor: Buffer.from(`after:${seq.get(last.id)}`).toString("base64") }) } : {}),
        },
      },
    };
  }

  let counter = 0;
  const seq = new Map<string, number>();
  function add(u: Omit<VonageUserRecord, "id" | "properties">, customData: Record<string, unknown> = {}): VonageUserRecord {
    const user: VonageUserRecord = { id: `USR-${randomUUID()}`, ...u, properties: { custom_data: customData } };
    users.set(user.id, user);
    seq.set(user.id, ++counter);
    return user;
  }

  function execute(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>): Reply {
    if (path === "/v1/users") {
      if (method === "GET") return list(query);
      if (method === "POST") {
        const name = field(body, "name") ?? `NAM-${randomUUID()}`;
        const display_name = field(body, "display_name");
        const image_url = field(body, "image_url");
        const properties = body.properties;
        const customData = typeof properties === "object" && properties !== null ? (properties as { custom_data?: unknown }).custom_data : undefined;
        if (customData !== undefined && (typeof customData !== "object" || customData === null || Array.isArray(customData))) {
          throw invalidParams("properties.custom_data must be an object");
        }
        if (nameTaken(name)) throw duplicate(name);
        const user = add(
          { name, ...(display_name !== undefined ? { display_name } : {}), ...(image_url !== undefined ? { image_url } : {}) },
          (customData as Record<string, unknown> | undefined) ?? {},
        );
        return { status: 201, body: record(user) };
      }
    }
    const m = /^\/v1\/users\/([^/]+)$/.exec(path);
    if (m) {
      const user = users.get(decodeURIComponent(m[1]!));
      if (method === "GET" || method === "PATCH" || method === "DELETE") {
        if (!user) throw notFound();
        if (method === "GET") return { status: 200, body: record(user) };
        if (method === "DELETE") {
          users.delete(user.id);
          return { status: 204 };
        }
        const name = field(body, "name");
        if (name !== undefined && nameTaken(name, user.id)) throw duplicate(name);
        for (const key of ["name", "display_name", "image_url"] as const) {
          const v = field(body, key);
          if (v !== undefined) user[key] = v;
        }
        return { status: 200, body: record(user) };
      }
    }
    throw new Problem(404, "http:error:not-found", "Not Found", `No route for ${method} ${path}`);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const raw = await readBody(req);
    const u = new URL(req.url ?? "/", url);
    const method = (req.method ?? "GET").toUpperCase();
    const fault = faults.take(method, u.pathname);
    const entry: VonageRequestLogEntry = { method, path: u.pathname, query: Object.fromEntries(u.searchParams), body: null, token: null, status: 0, fault: fault?.kind ?? null };
    log.push(entry);
    if (fault?.kind === "unreachable") return void req.socket.destroy();
    /** The request as Vonage executes it: its token checked, its body read, the state changed. */
    const executed = async (): Promise<Reply> => {
      try {
        entry.token = await authorize(req);
        let body: Record<string, unknown> = {};
        if (raw) {
          try {
            body = JSON.parse(raw) as Record<string, unknown>;
          } catch {
            throw invalidParams("The request body is not valid JSON");
          }
          if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalidParams("The request body must be an object");
        }
        entry.body = body;
        return execute(method, u.pathname, u.searchParams, body);
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        return e.reply();
      }
    };
    if (fault?.kind === "arrives_late") {
      // The caller sees its connection cut; the request still arrives, later.
      req.socket.destroy();
      const timer = setTimeout(() => {
        timers.delete(timer);
        void executed().then((r) => (entry.status = r.status));
      }, LATE_MS);
      timers.add(timer);
      return;
    }
    let reply: Reply;
    if (fault?.kind === "server_error") reply = new Problem(500, "system:error:internal-error", "Internal Error", "Injected by vonage-server.").reply();
    else if (fault?.kind === "service_unavailable") reply = new Problem(503, "system:error:unavailable", "Service Unavailable", "Injected by vonage-server.").reply();
    else if (fault?.kind === "rate_limited") reply = new Problem(429, "http:error:too-many-request", "Too Many Requests", "Injected by vonage-server.", { "Retry-After": String(fault.retryAfterSeconds) }).reply();
    else reply = await executed();
    entry.status = reply.status;
    if (fault?.kind === "lost_response") return void req.socket.destroy();
    const ms = delays.take(method, u.pathname);
    if (ms !== null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, ms);
        timers.add(timer);
      });
    }
    if (res.destroyed) return;
    const text = reply.body === undefined ? "" : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...(text ? { "Content-Type": reply.status >= 400 ? "application/problem+json" : "application/json", "Content-Length": Buffer.byteLength(text) } : {}),
      ...reply.headers,
    });
    res.end(text);
  }

  server.on("request", (req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });

  return {
    url,
    port,
    applicationId,
    privateKeyPem,
    users,
    requests: log,
    fail: (count, kind, match = {}) => faults.add(match, count, { kind, retryAfterSeconds: match.retryAfterSeconds ?? 1 }),
    delay: (ms, count = 1, match = {}) => delays.add(match, count, ms),
    seed: (user) => add(user),
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
