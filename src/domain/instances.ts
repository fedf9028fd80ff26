// Instance leases: each running instance of the service keeps a row that it renews every few
// seconds. Signaling connections belong to the instance that holds them (a connection id starts
// with its instance's id), so presence cannot outlive the process that held it: once a lease has
// lapsed, any live instance counts that instance's connections as closed at its last heartbeat
// (calls.reapOrphanedConnections), and the reconnect grace runs from there. An instance that was
// only slow (a stall, a GC pause, a database outage longer than the lease) renews the same lease
// when it comes back (the same id, so its connection ids stay its own) and records again the
// presence of the sockets it still holds (SignalingHub.reassert): a reconnection, as far as the
// calls are concerned.
import { randomBytes } from "node:crypto";
import type { Db } from "../db/client.ts";
import type { Clock } from "./ports/clock.ts";

export const HEARTBEAT_MS = 5_000;
/** Three missed heartbeats, and well under the 60 s reconnect grace. */
export const INSTANCE_LEASE_MS = 15_000;
/** Rows of instances gone this long are deleted (their connections were reaped long before). */
const FORGET_AFTER_MS = 3_600_000;

export interface InstanceLease {
  readonly id: string;
  /** A new connection id owned by this instance. */
  connectionId(): string;
  /**
   * Renews the lease when a heartbeat is due (or `force`); true when it did. The lease keeps its id,
   * even when it had lapsed (see `lapsed`) or its row had been deleted.
   */
  beat(force?: boolean): Promise<boolean>;
  /**
   * Whether the last renewal came after the lease had expired (by this instance's clock): another
   * instance may have reaped this instance's connections meanwhile.
   */
  readonly lapsed: boolean;
  /** Graceful stop: the lease is given up (call after this instance's connections are closed). */
  release(): Promise<void>;
}

export function instanceLease(db: Db, clock: Clock): InstanceLease {
  // base64url has no ".", the separator of connection ids.
  const id = randomBytes(9).toString("base64url");
  const startedAt = new Date(clock.now());
  let lastBeat = Number.NEGATIVE_INFINITY;
  /** The expiry of the last renewal that was recorded (none yet: never taken). */
  let renewedUntil: number | null = null;
  let lapsed = false;
  return {
    id,
    connectionId: () => `${id}.${randomBytes(9).toString("base64url")}`,
    async beat(force = false) {
      const t = clock.now();
      if (!force && t - lastBeat < HEARTBEAT_MS) return false;
      lastBeat = t;
      const lease = { heartbeatAt: new Date(t), expiresAt: new Date(t + INSTANCE_LEASE_MS) };
      await db.instance.upsert({ where: { id }, create: { id, startedAt, ...lease }, update: lease });
      // Reapers count a lease as lapsed once expires_at < now.
      lapsed = renewedUntil !== null && renewedUntil < t;
      renewedUntil = lease.expiresAt.getTime();
      await db.instance.deleteMany({ where: { expiresAt: { lt: new Date(t - FORGET_AFTER_MS) } } });
      return true;
    },
    get lapsed() {
      return lapsed;
    },
    async release() {
      await db.instance.deleteMany({ where: { id } });
    },
  };
}
