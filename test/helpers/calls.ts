// Helpers for the paid-call suites: hosts and guests made directly (tokens signed by the app),
// links, calls, and a real WebSocket client that records every frame.
import type { FastifyInstance } from "fastify";
import WebSocket from "ws";
import type { PaymentProvider } from "../../src/domain/ports/payments.ts";
import { uuidv7, toUlid } from "../../src/domain/ids.ts";

/**
 * A test's payment provider: the members of `own` (e.g. a slowed or failing hold), every other
 * method delegated to the real provider that `inner()` returns once the app exists.
 */
export function delegate<T extends object>(own: T, inner: () => PaymentProvider | undefined): PaymentProvider & T {
  return new Proxy(own, {
    get(target, key, receiver) {
      if (key in target) return Reflect.get(target, key, receiver);
      const p = inner() as unknown as Record<string | symbol, unknown> | undefined;
      const v = p?.[key];
      return typeof v === "function" ? v.bind(p) : v;
    },
  }) as PaymentProvider & T;
}

export const json = { "content-type": "application/json" };
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export interface Party {
  id: string;
  ulid: string;
  token: string;
}

let seq = 0;

/** A user with the given role (host by default) and an access token; every role but `user` has a confirmed e-mail address. */
export async function makeUser(app: FastifyInstance, role: "user" | "verified_user" | "host" | "admin" = "host", displayName = `Host ${++seq}`): Promise<Party> {
  const id = uuidv7(app.clock);
  const now = new Date(app.clock.now());
  await app.db.user.create({
    // Every role above `user` comes with a confirmed address (as through the API).
    data: {
      id, email: `u${seq}-${id.slice(-6)}@example.test`, emailKey: `u${seq}-${id.slice(-6)}@example.test`, displayName, passwordHash: "x", role,
      emailVerifiedAt: role === "user" ? null : now, createdAt: now, updatedAt: now,
    },
  });
  // A fresh token at every use (tests move the clock past the 15-minute lifetime).
  return { id, ulid: toUlid(id), get token() { return app.tokens.access({ id, role }).token; } };
}

/** A guest (row in guests) with a guest token. */
export async function makeGuest(app: FastifyInstance, displayName: string | null = "Gina Guest"): Promise<Party> {
  const id = uuidv7(app.clock);
  const now = new Date(app.clock.now());
  await app.db.guest.create({ data: { id, displayName, createdAt: now, expiresAt: new Date(now.getTime() + 86_400_000) } });
  return { id, ulid: toUlid(id), get token() { return app.tokens.guest({ id }).token; } };
}

export async function createLink(app: FastifyInstance, host: Party, body: Record<string, unknown> = {}) {
  const res = await app.inject({
    method: "POST",
    url: "/v1/links",
    headers: { ...json, ...bearer(host.token) },
    payload: { rate_per_minute: "3.00", window_size_minutes: 10, ...body },
  });
  if (res.statusCode !== 201) throw new Error(`create link: ${res.statusCode} ${res.body}`);
  return res.json().link as { id: string; short_code: string; [k: string]: unknown };
}

export async function initiate(app: FastifyInstance, guest: Party, shortCode: string, pm = "pm_card_visa", headers: Record<string, string> = {}) {
  return app.inject({
    method: "POST",
    url: "/v1/calls/initiate",
    headers: { ...json, ...bearer(guest.token), ...headers },
    payload: { short_code: shortCode, payment_method_id: pm },
  });
}

export async function startCall(app: FastifyInstance, guest: Party, shortCode: string, pm = "pm_card_visa") {
  const res = await initiate(app, guest, shortCode, pm);
  if (res.statusCode !== 201) throw new Error(`initiate: ${res.statusCode} ${res.body}`);
  return res.json() as { call: { id: string; status: string }; signaling_token: string; turn_credentials: { urls: string[]; username: string; credential: string } };
}

export async function join(app: FastifyInstance, host: Party, callId: string) {
  const res = await app.inject({ method: "POST", url: `/v1/calls/${callId}/join`, headers: bearer(host.token) });
  if (res.statusCode !== 200) throw new Error(`join: ${res.statusCode} ${res.body}`);
  return res.json() as { call: { id: string; status: string }; signaling_token: string };
}

export async function getCall(app: FastifyInstance, who: Party, callId: string) {
  const res = await app.inject({ method: "GET", url: `/v1/calls/${callId}`, headers: bearer(who.token) });
  if (res.statusCode !== 200) throw new Error(`get call: ${res.statusCode} ${res.body}`);
  return res.json().call as Record<string, any>;
}

export type Frame = Record<string, any> & { type: string };

/** A real WebSocket client that keeps every frame and lets a test wait for the next of a type. */
export class Client {
  frames: Frame[] = [];
  private waiters: { type: string; resolve: (f: Frame) => void; from: number }[] = [];
  private cursor = new Map<string, number>();
  closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const f = JSON.parse(String(data)) as Frame;
      this.frames.push(f);
      this.flush();
    });
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  }

  private flush() {
    for (const w of [...this.waiters]) {
      const idx = this.frames.findIndex((f, i) => i >= w.from && f.type === w.type);
      if (idx >= 0) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        this.cursor.set(w.type, idx + 1);
        w.resolve(this.frames[idx]!);
      }
    }
  }

  /** The next frame of `type` not returned before (waits up to 5 s). */
  next(type: string, timeoutMs = 5000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}`)), timeoutMs);
      this.waiters.push({ type, from: this.cursor.get(type) ?? 0, resolve: (f) => (clearTimeout(timer), resolve(f)) });
      this.flush();
    });
  }

  send(msg: unknown) {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

export function wsUrl(app: FastifyInstance, token: string, extra = "") {
  const addr = app.server.address() as { port: number };
  return `ws://127.0.0.1:${addr.port}/ws?token=${encodeURIComponent(token)}${extra}`;
}

/** Opens a signaling connection; resolves once upgraded. */
export function connect(app: FastifyInstance, token: string, extra = ""): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(app, token, extra));
    const client = new Client(ws);
    ws.once("open", () => resolve(client));
    ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { statusCode: res.statusCode })));
    ws.once("error", reject);
  });
}

/** The HTTP status a refused upgrade gets (the socket is never opened). */
export function refusedStatus(app: FastifyInstance, token: string, extra = ""): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(app, token, extra));
    ws.once("open", () => {
      ws.close();
      reject(new Error("the upgrade was accepted"));
    });
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("error", () => {});
  });
}

/**
 * The next frame of `type` that `pred` accepts (earlier ones of that type are passed over): waits
 * up to `timeoutMs` in all when given, otherwise as `next` does for each frame.
 */
export async function nextWhere(c: Client, type: string, pred: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame> {
  const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
  for (;;) {
    const f = await c.next(type, deadline === undefined ? undefined : Math.max(1, deadline - Date.now()));
    if (pred(f)) return f;
  }
}

/** A call on `shortCode` by `guest` (a new guest by default) with both participants connected: active, window 1 held. */
export async function activeCall(app: FastifyInstance, host: Party, shortCode: string, guest?: Party) {
  guest ??= await makeGuest(app);
  const started = await startCall(app, guest, shortCode);
  const joined = await join(app, host, started.call.id);
  const g = await connect(app, started.signaling_token);
  const h = await connect(app, joined.signaling_token);
  await g.next("billing");
  await h.next("billing");
  return { guest, id: started.call.id, g, h };
}

/**
 * A call made through the domain, without sockets: initiated, joined, both participants present
 * (connection ids of this instance, tagged `tag`), active. Ids are the database's.
 */
export async function activeCallInDomain(app: FastifyInstance, hostId: string, shortCode: string, tag: string, pm = "pm_card_visa") {
  const { calls, instance } = app.services;
  const guest = await makeGuest(app);
  const started = await calls.initiate({ kind: "guest", id: guest.id }, { shortCode, paymentMethodId: pm });
  const { id } = started.call;
  await calls.join({ kind: "user", id: hostId }, id);
  await calls.connected(id, "guest", `${instance.id}.g${tag}`);
  await calls.connected(id, "host", `${instance.id}.h${tag}`);
  await calls.activate(id);
  return { id, guestId: guest.id };
}

/** Moves the clock and runs the engine's due work. */
export async function advance(app: FastifyInstance, clock: { advance(ms: number): void }, ms: number) {
  clock.advance(ms);
  await app.services.tick();
}
