// The signaling hub of one instance: the sockets connected here, and fan-out through the pub/sub
// port (channel per call), so two participants on different instances still reach each other.
// Presence and the call's state belong to the calls domain (connected/disconnected); the hub only
// reports sockets opening and closing, and (every heartbeat) records again the sockets whose
// presence was reaped while they stayed open (reassert). Liveness (ping/pong) reads the injected
// clock and is driven by the engine's tick. No socket event may throw: every handler catches and
// logs with the connection's id, and answers per the protocol.
import type { WebSocket } from "ws";
import type { FrameParser } from "../../contract/asyncapi.ts";
import type { Call } from "../../db/generated/client.ts";
import type { PubSub } from "../../domain/ports/pubsub.ts";
import type { CallEvent } from "../../domain/billing.ts";
import type { Calls } from "../../domain/calls.ts";
import type { ParticipantRole } from "../../domain/principal.ts";
import type { Clock } from "../../domain/ports/clock.ts";
import { toUlid } from "../../domain/ids.ts";
import { LIVE, isFinished } from "../../domain/call-state.ts";
import {
  CloseCode,
  MAX_BUFFERED_BYTES,
  MAX_MESSAGES_PER_SECOND,
  PING_INTERVAL_MS,
  PONG_TIMEOUT_MS,
  type ServerMessage,
} from "../../domain/signaling.ts";

/** A frame as sent: every frame the server sends is a ServerMessage (asyncapi.yaml, server → client). */
const encode = (msg: ServerMessage) => JSON.stringify(msg);

type Envelope =
  | { t: "send"; to: ParticipantRole | "both"; frame: string }
  | { t: "replaced"; role: ParticipantRole; conn: string }
  | { t: "end"; reason: string };

interface Conn {
  id: string;
  callId: string;
  role: ParticipantRole;
  socket: WebSocket;
  ready: boolean;
  queue: { data: Buffer; binary: boolean }[];
  /** Closed on purpose (replaced, call ended): presence is not touched. */
  detached: boolean;
  lastPingAt: number;
  awaitingPongSince: number | null;
  rateSecond: number;
  rateCount: number;
}

const other = (r: ParticipantRole): ParticipantRole => (r === "host" ? "guest" : "host");
const channel = (callId: string) => `call:${callId}`;

export interface HubDeps {
  clock: Clock;
  pubsub: PubSub;
  presence: Pick<Calls, "connected" | "activate" | "disconnected" | "reconnected" | "presenceOf">;
  /** A new connection id (prefixed with this instance's lease id). */
  connectionId(): string;
  /** Validates a client's frame against asyncapi.yaml. */
  parseFrame: FrameParser;
  log: { warn(obj: unknown, msg: string): void; error(obj: unknown, msg: string): void };
}

export class SignalingHub {
  private calls = new Map<string, Set<Conn>>();
  private subscriptions = new Map<string, Promise<() => Promise<void>>>();
  private pending = new Set<Promise<unknown>>();
  private shuttingDown = false;

  constructor(private deps: HubDeps) {}

  /** Number of sockets connected to this instance. */
  get size() {
    let n = 0;
    for (const s of this.calls.values()) n += s.size;
    return n;
  }

  /** Delivers a domain event to the call's participants, wherever they are connected. */
  async notify(callId: string, event: CallEvent): Promise<void> {
    const env: Envelope = event.type === "call_ended" ? { t: "end", reason: event.reason } : { t: "send", to: "both", frame: encode(event) };
    await this.deps.pubsub.publish(channel(callId), JSON.stringify(env));
  }

  /** Takes over an upgraded socket whose token was already checked and consumed. */
  attach(socket: WebSocket, call: Call, role: ParticipantRole) {
    const conn: Conn = {
      id: this.deps.connectionId(),
      callId: call.id,
      role,
      socket,
      ready: false,
      queue: [],
      detached: false,
      lastPingAt: this.deps.clock.now(),
      awaitingPongSince: null,
      rateSecond: 0,
      rateCount: 0,
    };
    // Oversized frames: ws closes with 1009; this protocol's code for a policy violation is 4008.
    const close = socket.close.bind(socket);
    socket.close = ((code?: number, reason?: string | Buffer) => close(code === 1009 ? CloseCode.policyViolation : code, code === 1009 ? "frame too large" : reason)) as typeof socket.close;
    // Handlers are attached synchronously; frames that arrive during set-up are queued.
    socket.on("message", (data: Buffer, binary: boolean) => {
      if (conn.ready) this.onFrame(conn, data, binary);
      else conn.queue.push({ data, binary });
    });
    socket.on("pong", () => {
      conn.awaitingPongSince = null;
    });
    socket.on("close", () => void this.track(this.onClose(conn), conn, "close"));
    socket.on("error", (err) => this.deps.log.warn({ err, conn: conn.id, call: conn.callId }, "signaling: socket error"));
    void this.track(this.open(conn, call), conn, "set-up").then((ok) => ok || socket.close(CloseCode.setupFailed, "internal error"));
  }

  /**
   * Keeps the work until it settles (shutdown waits for it); a failure is logged with the
   * connection's id. Never rejects: resolves false when the work failed.
   */
  private track(work: Promise<unknown>, conn: Conn, what: string): Promise<boolean> {
    const done = work.then(
      () => true,
      (err) => {
        this.deps.log.error({ err, conn: conn.id, call: conn.callId }, `signaling: connection ${what} failed`);
        return false;
      },
    );
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
    return done;
  }

  private async open(conn: Conn, call: Call) {
    let set = this.calls.get(conn.callId);
    if (!set) this.calls.set(conn.callId, (set = new Set()));
    set.add(conn);
    await this.subscribe(conn.callId);

    const joined = await this.deps.presence.connected(call.id, conn.role, conn.id);
    if (!joined.live) return this.ended(conn, joined.call.endReason);
    // An older connection of the same participant (on any instance) is replaced.
    await this.publish(conn.callId, { t: "replaced", role: conn.role, conn: conn.id });
    this.send(conn, { type: "welcome", call_id: toUlid(call.id), role: conn.role, peer_present: joined.peerPresent });
    this.send(conn, { type: "call_state", status: joined.call.status });
    await this.publish(conn.callId, { t: "send", to: other(conn.role), frame: encode({ type: "peer_joined", role: conn.role }) });
    if (joined.peerPresent) this.send(conn, { type: "peer_joined", role: other(conn.role) });
    conn.ready = true;
    for (const f of conn.queue.splice(0)) this.onFrame(conn, f.data, f.binary);
    if (joined.peerPresent && joined.call.status === "waiting") await this.deps.presence.activate(call.id);
  }

  /** The call is over: the socket hears why and is closed as every ended call's is (4010). */
  private ended(conn: Conn, reason: string | null) {
    this.send(conn, { type: "call_ended", reason: reason ?? "ended" });
    conn.detached = true;
    conn.socket.close(CloseCode.callEnded, "call ended");
  }

  private onFrame(conn: Conn, data: Buffer, binary: boolean) {
    try {
      this.relay(conn, data, binary);
    } catch (err) {
      this.deps.log.error({ err, conn: conn.id, call: conn.callId }, "signaling: frame handling failed");
      this.send(conn, { type: "error", code: "internal_error", message: "the frame could not be handled" });
    }
  }

  private relay(conn: Conn, data: Buffer, binary: boolean) {
    const second = Math.floor(this.deps.clock.now() / 1000);
    if (second !== conn.rateSecond) {
      conn.rateSecond = second;
      conn.rateCount = 0;
    }
    if (++conn.rateCount > MAX_MESSAGES_PER_SECOND) {
      this.send(conn, { type: "error", code: "rate_limited", message: `at most ${MAX_MESSAGES_PER_SECOND} messages per second` });
      conn.socket.close(CloseCode.policyViolation, "too many messages");
      return;
    }
    if (binary) {
      this.send(conn, { type: "error", code: "invalid_message", message: "frames must be JSON text" });
      return;
    }
    const parsed = this.deps.parseFrame(data.toString("utf8"));
    if (!parsed.ok) {
      this.send(conn, { type: "error", code: parsed.code, message: parsed.message });
      return;
    }
    const frame = encode({ ...parsed.message, from: conn.role });
    this.publish(conn.callId, { t: "send", to: other(conn.role), frame }).catch((err) => {
      this.deps.log.error({ err, conn: conn.id, call: conn.callId }, "signaling: relay failed");
      this.send(conn, { type: "error", code: "internal_error", message: "the frame could not be relayed" });
    });
  }

  private async onClose(conn: Conn) {
    const set = this.calls.get(conn.callId);
    set?.delete(conn);
    if (set && set.size === 0) {
      this.calls.delete(conn.callId);
      await this.unsubscribe(conn.callId);
    }
    if (conn.detached) return;
    const left = await this.deps.presence.disconnected(conn.callId, conn.role, conn.id, new Date(this.deps.clock.now()));
    if (left) await this.peerLeft(conn.callId, conn.role);
  }

  /** Whether this instance holds the call's connection with this id (open, or being set up). */
  holds(callId: string, connId: string): boolean {
    for (const conn of this.calls.get(callId) ?? []) if (conn.id === connId) return true;
    return false;
  }

  /**
   * Every heartbeat: the sockets held here (set up, not closed on purpose) against their calls'
   * presence records. A socket whose record was cleared while it stayed open — this instance's
   * lease lapsed (a stall, a GC pause, a database outage) and another instance reaped its
   * connections — is recorded again, as a reconnection: the reaper's reconnect deadline then ends
   * nothing, the other participant (told peer_left by the reaper) hears peer_joined, and a waiting
   * call whose other participant came meanwhile turns active. A socket whose call has finished
   * meanwhile (its notice lost to this instance) is closed as an ended call's is; one still ending
   * waits for the settlement's notice (its end reason may still change). A record naming another
   * connection is left alone: that newer connection replaces this one. Returns how many
   * connections were recorded again.
   */
  async reassert(): Promise<number> {
    if (this.shuttingDown) return 0;
    const open = (c: Conn) => c.ready && !c.detached && c.socket.readyState === c.socket.OPEN;
    const held = [...this.calls.values()].flatMap((conns) => [...conns]).filter(open);
    if (held.length === 0) return 0;
    const records = await this.deps.presence.presenceOf([...new Set(held.map((c) => c.callId))]);
    let restored = 0;
    for (const conn of held) {
      const record = records.get(conn.callId);
      if (!record || !open(conn) || !this.holds(conn.callId, conn.id)) continue;
      try {
        if (!LIVE.includes(record.status)) {
          if (isFinished(record.status)) this.ended(conn, record.endReason);
          continue;
        }
        if ((conn.role === "host" ? record.hostConn : record.guestConn) !== null) continue;
        const back = await this.deps.presence.reconnected(conn.callId, conn.role, conn.id);
        if (!back.live) {
          if (isFinished(back.call.status) && open(conn)) this.ended(conn, back.call.endReason);
          continue;
        }
        if (!back.restored) continue;
        if (!this.holds(conn.callId, conn.id)) {
          // Closed meanwhile: its close found no record to clear; the one just written is cleared now.
          if (await this.deps.presence.disconnected(conn.callId, conn.role, conn.id, new Date(this.deps.clock.now()))) await this.peerLeft(conn.callId, conn.role);
          continue;
        }
        restored++;
        this.deps.log.warn({ conn: conn.id, call: conn.callId, role: conn.role }, "signaling: presence reaped while the socket stayed open, recorded again");
        await this.publish(conn.callId, { t: "send", to: other(conn.role), frame: encode({ type: "peer_joined", role: conn.role }) });
        if (back.peerPresent && back.call.status === "waiting") await this.deps.presence.activate(conn.callId);
      } catch (err) {
        this.deps.log.error({ err, conn: conn.id, call: conn.callId }, "signaling: presence not recorded again");
      }
    }
    return restored;
  }

  /** Tells the other participant (wherever connected) that `role` has gone. */
  peerLeft(callId: string, role: ParticipantRole) {
    return this.publish(callId, { t: "send", to: other(role), frame: encode({ type: "peer_left", role }) });
  }

  private async subscribe(callId: string) {
    if (!this.subscriptions.has(callId)) {
      this.subscriptions.set(callId, this.deps.pubsub.subscribe(channel(callId), (m) => this.deliver(callId, m)));
    }
    await this.subscriptions.get(callId);
  }

  private async unsubscribe(callId: string) {
    const sub = this.subscriptions.get(callId);
    if (!sub || this.calls.has(callId)) return;
    this.subscriptions.delete(callId);
    await (await sub)();
  }

  private publish(callId: string, env: Envelope) {
    return this.deps.pubsub.publish(channel(callId), JSON.stringify(env));
  }

  /** A message from the call's channel: hand it to the sockets connected here. */
  private deliver(callId: string, raw: string) {
    try {
      this.deliverHere(callId, raw);
    } catch (err) {
      this.deps.log.error({ err, call: callId }, "signaling: delivery failed");
    }
  }

  private deliverHere(callId: string, raw: string) {
    const conns = this.calls.get(callId);
    if (!conns) return;
    const env = JSON.parse(raw) as Envelope;
    for (const conn of [...conns]) {
      if (env.t === "send") {
        if (env.to === "both" || env.to === conn.role) this.sendRaw(conn, env.frame);
      } else if (env.t === "replaced") {
        if (conn.role === env.role && conn.id !== env.conn) {
          conn.detached = true;
          conn.socket.close(CloseCode.replaced, "replaced by a newer connection");
        }
      } else if (env.t === "end") {
        conn.detached = true;
        this.send(conn, { type: "call_ended", reason: env.reason });
        conn.socket.close(CloseCode.callEnded, "call ended");
      }
    }
  }

  private send(conn: Conn, msg: ServerMessage) {
    this.sendRaw(conn, encode(msg));
  }

  private sendRaw(conn: Conn, frame: string) {
    const s = conn.socket;
    if (s.readyState !== s.OPEN) return;
    if (s.bufferedAmount > MAX_BUFFERED_BYTES) {
      // A slow consumer: it cannot keep up, so it is dropped (it may reconnect).
      s.close(CloseCode.policyViolation, "slow consumer");
      setTimeout(() => s.terminate(), 2000).unref();
      return;
    }
    s.send(frame);
  }

  /** Liveness: a ping every 30 s; a connection that has not answered within 10 s is dropped. */
  sweep() {
    const now = this.deps.clock.now();
    for (const conns of this.calls.values()) {
      for (const conn of conns) {
        if (conn.awaitingPongSince !== null) {
          if (now - conn.awaitingPongSince >= PONG_TIMEOUT_MS) conn.socket.terminate();
        } else if (now - conn.lastPingAt >= PING_INTERVAL_MS) {
          conn.lastPingAt = now;
          conn.awaitingPongSince = now;
          conn.socket.ping();
        }
      }
    }
  }

  /** Server shutdown: every socket is closed with 1001 and its presence recorded before the database closes. */
  async shutdown() {
    this.shuttingDown = true;
    for (const conns of this.calls.values()) for (const conn of conns) conn.socket.close(CloseCode.shutdown, "server shutdown");
    // Clients answer the close handshake at once; one that does not is cut off after a second.
    const started = Date.now();
    while ((this.size > 0 || this.pending.size > 0) && Date.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 10));
      if (this.size > 0 && Date.now() - started > 1000) {
        for (const conns of this.calls.values()) for (const conn of conns) conn.socket.terminate();
      }
    }
  }

  get closing() {
    return this.shuttingDown;
  }
}
