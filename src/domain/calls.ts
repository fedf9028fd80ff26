// Calls (docs/calls.md): initiate (hold window 1, count a use, issue a signaling token), join,
// reconnect tokens, end, read and list, and signaling presence (who is connected, from which
// instance). Every status change goes through transition() (call-state.ts); a caller that loses a
// race acts on the state that won.
import type { Db } from "../db/client.ts";
import type { Call, CallLink, CallStatus } from "../db/generated/client.ts";
import { PaymentsUnavailable, type HoldResult, type PaymentProvider } from "./ports/payments.ts";
import { isUniqueViolation } from "./accounts.ts";
import { AUTHENTICATION_WINDOW_MS, NO_SHOW_MS, RECONNECT_GRACE_MS, RING_BY_MAIL_AFTER_MS, VOID_AFTER_MS, holdRequest, type BillingEngine, type EndReason } from "./billing.ts";
import type { Connect } from "./connect.ts";
import { LIVE, isFinished, transition } from "./call-state.ts";
import type { Clock } from "./ports/clock.ts";
import { noMetrics, type Metrics } from "./ports/metrics.ts";
import { AppError } from "./errors.ts";
import { uuidv7 } from "./ids.ts";
import type { CallNotices } from "./notifications.ts";
import { digest, newOpaqueToken } from "./tokens.ts";
import type { ParticipantRole, PrincipalRef } from "./principal.ts";
import { unavailableReason, type Links } from "./links.ts";
import { afterCursor, newestFirst, toPage, type Page } from "./pagination.ts";
import { turnCredentials, type TurnConfig, type TurnCredentials } from "./turn.ts";

export const SIGNALING_TOKEN_TTL_MS = 5 * 60_000;
/** An authenticated first hold is adopted only this long before it would be released as unused. */
const ADOPTION_MARGIN_MS = 5 * 60_000;

export interface CallsDeps {
  db: Db;
  clock: Clock;
  links: Links;
  billing: BillingEngine;
  provider: PaymentProvider;
  connect: Connect;
  /** The payer's customer at the provider (created on first use), or null when the provider needs none. */
  customerOf: (p: PrincipalRef) => Promise<string | null>;
  turn: TurnConfig;
  /** Tells the host a guest is waiting (never throws: a notice that fails is logged by its maker). */
  notices: Pick<CallNotices, "incoming">;
  /** How long an end request waits for the call's settlement before answering 202 (real ms). */
  endWaitMs?: number;
  /** Counts the calls whose first hold fails (their final status). */
  metrics?: Metrics;
}

/** A guest's request for a call: the link, the card, and optionally a name and an authenticated hold to adopt. */
export interface CallRequest {
  shortCode: string;
  paymentMethodId: string;
  guestName?: string | undefined;
  paymentIntentId?: string | undefined;
}

/** A call with what its participants see beside the row: its link and its host's display name ("" once the account is gone). */
export type CallDetails = Call & { link: CallLink; hostName: string };
/** What a participant needs to connect: the call, a signaling token and TURN credentials. */
export interface CallSession {
  call: CallDetails;
  signalingToken: string;
  turn: TurnCredentials;
}

/** The caller's role in the call, or null when they are not part of it. */
export function participantRole(call: Call, p: PrincipalRef | null): ParticipantRole | null {
  if (!p) return null;
  if (p.kind === "user" && call.hostId === p.id) return "host";
  if (call.guestId === p.id && call.guestKind === p.kind) return "guest";
  return null;
}

export function calls({ db, clock, links, billing, provider, connect, customerOf, turn, notices, endWaitMs = 5000, metrics = noMetrics }: CallsDeps) {
  const now = () => new Date(clock.now());

  async function details(call: Call & { link?: CallLink }): Promise<CallDetails> {
    const [host, link] = await Promise.all([
      db.user.findUnique({ where: { id: call.hostId }, select: { displayName: true } }),
      call.link ?? db.callLink.findUniqueOrThrow({ where: { id: call.linkId } }),
    ]);
    return { ...call, link, hostName: host?.displayName ?? "" };
  }
  const turnFor = (callId: string) => turnCredentials(turn, clock, callId);

  async function issueSignalingToken(call: Call, role: ParticipantRole, principalId: string) {
    const token = newOpaqueToken("st_");
    await db.signalingToken.create({
      data: {
        id: uuidv7(clock),
        tokenHash: digest(token),
        callId: call.id,
        role,
        principalId,
        expiresAt: new Date(clock.now() + SIGNALING_TOKEN_TTL_MS),
        createdAt: now(),
      },
    });
    return token;
  }

  /** The call when the caller takes part in it; not_found otherwise (existence is not revealed). */
  async function forParticipant(p: PrincipalRef, id: string): Promise<{ call: Call; role: ParticipantRole }> {
    const call = await db.call.findUnique({ where: { id } });
    const role = call ? participantRole(call, p) : null;
    if (!call || !role) throw new AppError("not_found");
    return { call, role };
  }

  async function guestName(p: PrincipalRef, given: string | undefined): Promise<string> {
    if (given) return given;
    if (p.kind === "user") return (await db.user.findUnique({ where: { id: p.id }, select: { displayName: true } }))?.displayName ?? "Guest";
    const guest = await db.guest.findUnique({ where: { id: p.id }, select: { displayName: true } }).catch(() => null);
    return guest?.displayName ?? "Guest";
  }

  /**
   * A participant's connection is gone (closed, or its instance died) since `leftAt`. False when it
   * was not their current connection (replaced meanwhile). During an active call the participant
   * may come back within the reconnect grace; after that the call ends `connection_lost`.
   */
  async function disconnected(callId: string, role: ParticipantRole, connId: string, leftAt: Date): Promise<boolean> {
    const where = role === "host" ? { id: callId, hostConn: connId } : { id: callId, guestConn: connId };
    const data = role === "host" ? { hostConn: null, hostLeftAt: leftAt } : { guestConn: null, guestLeftAt: leftAt };
    const [row] = await db.call.updateManyAndReturn({ where, data });
    if (!row) return false;
    if (row.status === "active") {
      await billing.schedule(callId, "reconnect_deadline", new Date(leftAt.getTime() + RECONNECT_GRACE_MS), {
        refTime: leftAt,
        reason: role,
        dedupe: `reconnect_deadline:${role}:${leftAt.getTime()}`,
      });
    }
    return true;
  }

  /**
   * A hold the client authorised itself (3-D Secure after a first attempt): accepted as window 1's
   * hold only when it is exactly the hold this call would have placed, for this payer and host.
   */
  async function adoptHold(holdRef: string, request: ReturnType<typeof holdRequest>): Promise<HoldResult> {
    const state = await provider.holdState(holdRef);
    // Adopted well before the unadopted hold is released (release_unused), never near it.
    const fresh = state ? clock.now() - state.createdAt.getTime() < AUTHENTICATION_WINDOW_MS - ADOPTION_MARGIN_MS : false;
    const fits =
      fresh &&
      state?.status === "requires_capture" &&
      state.amountCents === request.amountCents &&
      state.customerRef === request.customerRef &&
      state.payeeRef === request.payeeRef;
    if (!fits) throw new AppError("validation_error", { payment_intent_id: "is not a recent authorised hold of this amount for this payer and link" });
    return { ok: true, holdRef };
  }

  return {
    forParticipant,
    turnFor,

    async initiate(p: PrincipalRef, body: CallRequest): Promise<CallSession> {
      const link = await links.byShortCode(body.shortCode);
      if (!link) throw new AppError("link_not_found");
      const reason = unavailableReason(link, clock.now());
      if (reason) throw new AppError("link_unavailable", { reason });
      if (p.kind === "user" && p.id === link.hostId) throw new AppError("forbidden", { short_code: "is your own link" });

      // The host's account (410 payments_disabled when it cannot take charges now) and the payer's
      // customer at the provider (nothing is created here when the provider cannot be reached: the
      // request answers 503 before any call exists).
      const payeeRef = await connect.payeeOf(link.hostId);
      const customerRef = await customerOf(p);

      const t = now();
      const id = uuidv7(clock);
      const call = await db.call.create({
        data: {
          id,
          linkId: link.id,
          hostId: link.hostId,
          guestKind: p.kind,
          guestId: p.id,
          guestName: await guestName(p, body.guestName),
          status: "pending",
          rateCents: link.rateCents,
          windowMinutes: link.windowMinutes,
          paymentMethodId: body.paymentMethodId,
          customerRef,
          payeeRef,
          createdAt: t,
          updatedAt: t,
        },
      });
      // Durable clean-up: a call that never gets its host (or stays pending after a crash) ends
      // here; and a host whose live channel did not get the notice is told by e-mail (the ring
      // counts from the moment the guest is waiting).
      await billing.scheduleMany(id, [
        { kind: "no_show", dueAt: new Date(t.getTime() + NO_SHOW_MS) },
        { kind: "ring", dueAt: new Date(t.getTime() + RING_BY_MAIL_AFTER_MS) },
      ]);

      const request = holdRequest(call, 1);
      // Scheduled before the request: if its answer is lost (or this process dies before the
      // window is recorded), the engine finds the hold later and releases it.
      await billing.schedule(id, "void_hold", new Date(clock.now() + VOID_AFTER_MS), { windowIndex: 1 });
      /** The call failed; `answered`: the provider's answer arrived (nothing is left to look for). */
      const fail = async (endReason: EndReason, answered: boolean) => {
        if (await transition(db, id, "failed", now(), { from: ["pending"], changes: { endReason, endedAt: now() } })) metrics.callFinished("failed", endReason);
        const kinds = answered ? undefined : { not: "void_hold" };
        await db.callTask.updateMany({ where: { callId: id, status: "pending", ...(kinds ? { kind: kinds } : {}) }, data: { status: "cancelled", doneAt: now() } });
      };
      let hold: HoldResult;
      try {
        hold = body.paymentIntentId ? await adoptHold(body.paymentIntentId, request) : await provider.hold(request);
      } catch (err) {
        // Refused or unreachable: the hold may have been placed although its answer was lost.
        await fail(err instanceof PaymentsUnavailable ? "billing_failed" : "payment_declined", false);
        throw err;
      }
      if (!hold.ok) {
        await fail("payment_declined", true);
        if (hold.action) {
          // The payer may authenticate this hold and initiate again with it; if no call adopts it
          // in time, it is released.
          await billing.schedule(id, "release_unused", new Date(clock.now() + AUTHENTICATION_WINDOW_MS), { reason: hold.action.holdRef });
        }
        const action = hold.action ? { client_secret: hold.action.clientSecret, payment_intent_id: hold.action.holdRef } : {};
        throw new AppError("payment_declined", { decline_code: hold.declineCode, ...action });
      }
      try {
        await db.billingWindow.create({
          data: { id: uuidv7(clock), callId: id, index: 1, amountCents: request.amountCents, holdStatus: "held", holdRef: hold.holdRef, createdAt: now(), updatedAt: now() },
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        await fail("payment_declined", true);
        throw new AppError("validation_error", { payment_intent_id: "is already used by another call" });
      }
      if (!(await links.countUse(link.id))) {
        // The last use went to someone else meanwhile, or the link was deactivated.
        await billing.markEnded(id, "link_unavailable", now(), { from: ["pending"] });
        await billing.resettle(id);
        const current = await links.byShortCode(body.shortCode);
        throw new AppError("link_unavailable", { reason: (current && unavailableReason(current, clock.now())) ?? "uses_exhausted" });
      }
      const waiting = await transition(db, id, "waiting", now());
      if (!waiting) {
        // Ended while the provider was authorising window 1 (guest cancelled, host declined, link
        // deactivated): the settlement may have run before this hold was recorded, so it runs again.
        await billing.resettle(id);
        const ended = await db.call.findUniqueOrThrow({ where: { id } });
        if (ended.endReason === "link_unavailable") {
          const current = await links.byShortCode(body.shortCode);
          throw new AppError("link_unavailable", { reason: (current && unavailableReason(current, clock.now())) ?? "inactive" });
        }
        throw new AppError("call_not_active", { status: ended.status });
      }
      await notices.incoming(waiting, link);
      return {
        call: await details({ ...waiting, link }),
        signalingToken: await issueSignalingToken(call, "guest", p.id),
        turn: turnFor(id),
      };
    },

    async join(p: PrincipalRef, id: string): Promise<CallSession> {
      const { call, role } = await forParticipant(p, id);
      if (role !== "host") throw new AppError("forbidden");
      if (!LIVE.includes(call.status)) throw new AppError("call_not_active", { status: call.status });
      return {
        call: await details(call),
        signalingToken: await issueSignalingToken(call, "host", p.id),
        turn: turnFor(id),
      };
    },

    async signalingToken(p: PrincipalRef, id: string): Promise<string> {
      const { call, role } = await forParticipant(p, id);
      if (!LIVE.includes(call.status)) throw new AppError("call_not_active", { status: call.status });
      return issueSignalingToken(call, role, p.id);
    },

    /**
     * Ends the call (idempotent: ending an ended call answers its current state) and settles it.
     * `finished` is false when the settlement could not finish within endWaitMs (another worker
     * holds the call): the answer is then the current, unfinished state, for the client to poll.
     */
    async end(p: PrincipalRef, id: string): Promise<{ finished: boolean; call: CallDetails }> {
      let { call, role } = await forParticipant(p, id);
      // The reason depends on the state the end wins against; a lost race re-reads and tries again.
      for (let attempt = 0; attempt < 3 && !isFinished(call.status) && call.status !== "ending"; attempt++) {
        const active = call.status === "active";
        const reason: EndReason = active ? (role === "host" ? "host_ended" : "guest_ended") : role === "host" ? "host_declined" : "guest_cancelled";
        if (await billing.markEnded(id, reason, now(), { from: active ? ["active"] : ["pending", "waiting"] })) break;
        call = await db.call.findUniqueOrThrow({ where: { id } });
      }
      await billing.runCall(id, endWaitMs);
      const current = await db.call.findUniqueOrThrow({ where: { id } });
      return { finished: isFinished(current.status), call: await details(current) };
    },

    /** Calls in progress (active), on every instance. */
    activeCount: () => db.call.count({ where: { status: "active" } }),

    /** The host has been told a guest is waiting (the first time only): the call has rung. */
    async markNotified(id: string) {
      await db.call.updateMany({ where: { id, notifiedAt: null }, data: { notifiedAt: now() } });
    },

    /** A deactivated link: calls still waiting for the host are cancelled and their holds released. */
    async cancelWaitingOnLink(linkId: string) {
      const waiting = await db.call.findMany({ where: { linkId, status: { in: ["pending", "waiting"] } }, select: { id: true } });
      for (const { id } of waiting) {
        if (await billing.markEnded(id, "link_unavailable", now(), { from: ["pending", "waiting"] })) await billing.runCall(id);
      }
    },

    /**
     * A participant's connection is up (on any instance): presence is recorded. `live` is false
     * (and nothing recorded) when the call is no longer waiting or active.
     */
    async connected(callId: string, role: ParticipantRole, connId: string): Promise<{ live: boolean; call: Call; peerPresent: boolean }> {
      const mine = role === "host" ? { hostConn: connId, hostLeftAt: null } : { guestConn: connId, guestLeftAt: null };
      const [row] = await db.call.updateManyAndReturn({ where: { id: callId, status: { in: [...LIVE] } }, data: mine });
      if (!row) return { live: false, call: await db.call.findUniqueOrThrow({ where: { id: callId } }), peerPresent: false };
      return { live: true, call: row, peerPresent: (role === "host" ? row.guestConn : row.hostConn) !== null };
    },

    /**
     * A connection that stayed open although its presence was cleared — its instance's lease
     * lapsed (a stall, a database outage) and another instance reaped it — is recorded again, as
     * connected() records a new one: the participant is back, so the reconnect deadline that the
     * reaping scheduled ends nothing (it ends the call only if they are still gone since then).
     * Only while no connection of that participant is recorded: a newer one replaces this one
     * instead. `restored`: recorded again; `live` false when the call is no longer waiting or active.
     */
    async reconnected(callId: string, role: ParticipantRole, connId: string): Promise<{ restored: boolean; live: boolean; call: Call; peerPresent: boolean }> {
      const gone = role === "host" ? { hostConn: null } : { guestConn: null };
      const mine = role === "host" ? { hostConn: connId, hostLeftAt: null } : { guestConn: connId, guestLeftAt: null };
      const [row] = await db.call.updateManyAndReturn({ where: { id: callId, status: { in: [...LIVE] }, ...gone }, data: mine });
      const call = row ?? (await db.call.findUniqueOrThrow({ where: { id: callId } }));
      const peerPresent = (role === "host" ? call.guestConn : call.hostConn) !== null;
      return { restored: row !== undefined, live: LIVE.includes(call.status), call, peerPresent };
    },

    /** The status and presence records of these calls (those an instance holds sockets of); missing ids are left out. */
    async presenceOf(callIds: readonly string[]): Promise<Map<string, Pick<Call, "status" | "endReason" | "hostConn" | "guestConn">>> {
      if (callIds.length === 0) return new Map();
      const rows = await db.call.findMany({
        where: { id: { in: [...callIds] } },
        select: { id: true, status: true, endReason: true, hostConn: true, guestConn: true },
      });
      return new Map(rows.map(({ id, ...rest }) => [id, rest]));
    },

    /** Both participants are connected: a waiting call turns active and its billing clock starts. */
    async activate(callId: string): Promise<void> {
      const t = now();
      const active = await transition(db, callId, "active", t, { changes: { startedAt: t }, guard: { hostConn: { not: null }, guestConn: { not: null } } });
      if (active) await billing.onActivated(active);
    },

    disconnected,

    /** The live calls' connections recorded against one instance (its own, to compare with its sockets). */
    async connectionsOf(instanceId: string): Promise<{ callId: string; role: ParticipantRole; connId: string }[]> {
      const prefix = `${instanceId}.`;
      const rows = await db.call.findMany({
        where: { status: { in: [...LIVE] }, OR: [{ hostConn: { startsWith: prefix } }, { guestConn: { startsWith: prefix } }] },
        select: { id: true, hostConn: true, guestConn: true },
      });
      return rows.flatMap((r) => [
        ...(r.hostConn?.startsWith(prefix) ? [{ callId: r.id, role: "host" as const, connId: r.hostConn }] : []),
        ...(r.guestConn?.startsWith(prefix) ? [{ callId: r.id, role: "guest" as const, connId: r.guestConn }] : []),
      ]);
    },

    /**
     * Connections held by instances whose lease has lapsed (or that are gone): each counts as
     * closed at that instance's last heartbeat (never before the call started). Returns the
     * participants whose presence was cleared.
     */
    async reapOrphanedConnections(): Promise<{ callId: string; role: ParticipantRole }[]> {
      const t = now();
      const rows = await db.$queryRaw<{ id: string; host_conn: string | null; guest_conn: string | null; started_at: Date | null; host_beat: Date | null; guest_beat: Date | null; host_dead: boolean; guest_dead: boolean }[]>`
        SELECT c."id", c."host_conn", c."guest_conn", c."started_at",
               hi."heartbeat_at" AS "host_beat", gi."heartbeat_at" AS "guest_beat",
               (c."host_conn" IS NOT NULL AND (hi."id" IS NULL OR hi."expires_at" < ${t})) AS "host_dead",
               (c."guest_conn" IS NOT NULL AND (gi."id" IS NULL OR gi."expires_at" < ${t})) AS "guest_dead"
        FROM "calls" c
        LEFT JOIN "instances" hi ON hi."id" = split_part(c."host_conn", '.', 1)
        LEFT JOIN "instances" gi ON gi."id" = split_part(c."guest_conn", '.', 1)
        WHERE c."status" IN ('waiting', 'active')
          AND ((c."host_conn" IS NOT NULL AND (hi."id" IS NULL OR hi."expires_at" < ${t}))
            OR (c."guest_conn" IS NOT NULL AND (gi."id" IS NULL OR gi."expires_at" < ${t})))
        LIMIT 500`;
      const cleared: { callId: string; role: ParticipantRole }[] = [];
      for (const r of rows) {
        for (const role of ["host", "guest"] as const) {
          const conn = role === "host" ? r.host_conn : r.guest_conn;
          if (!conn || !(role === "host" ? r.host_dead : r.guest_dead)) continue;
          const beat = (role === "host" ? r.host_beat : r.guest_beat) ?? t;
          const leftAt = r.started_at && r.started_at > beat ? r.started_at : beat;
          if (await disconnected(r.id, role, conn, leftAt)) cleared.push({ callId: r.id, role });
        }
      }
      return cleared;
    },

    async get(p: PrincipalRef, id: string): Promise<CallDetails> {
      const { call } = await forParticipant(p, id);
      return details(call);
    },

    async list(p: PrincipalRef, q: { status?: CallStatus; role?: ParticipantRole; limit: number; cursor?: string }): Promise<Page<CallDetails>> {
      const asHost = p.kind === "user" ? { hostId: p.id } : undefined;
      const asGuest = { guestId: p.id, guestKind: p.kind };
      // A guest hosts no call: as host they match nothing.
      const who = q.role === "host" ? (asHost ?? { id: { in: [] } }) : q.role === "guest" ? asGuest : { OR: [...(asHost ? [asHost] : []), asGuest] };
      const rows = await db.call.findMany({
        where: { AND: [who, q.status ? { status: q.status } : {}, afterCursor("calls", q.cursor)] },
        orderBy: newestFirst,
        take: q.limit + 1,
        include: { link: true },
      });
      const page = toPage("calls", rows, q.limit);
      return { ...page, data: await Promise.all(page.data.map(details)) };
    },

    /** Consumes a signaling token: valid, unexpired, unused, for a call that is still going. */
    async consumeSignalingToken(token: string): Promise<{ call: Call; role: ParticipantRole; principalId: string } | null> {
      if (!/^st_[A-Za-z0-9_-]{43}$/.test(token)) return null;
      const t = now();
      const used = await db.signalingToken.updateMany({
        where: { tokenHash: digest(token), usedAt: null, expiresAt: { gt: t } },
        data: { usedAt: t },
      });
      if (used.count !== 1) return null;
      const row = await db.signalingToken.findUniqueOrThrow({ where: { tokenHash: digest(token) }, include: { call: true } });
      const { call } = row;
      const role = row.role as ParticipantRole;
      const stillThere = role === "host" ? call.hostId === row.principalId : call.guestId === row.principalId;
      if (!stillThere || !LIVE.includes(call.status)) return null;
      return { call, role, principalId: row.principalId };
    },
  };
}

export type Calls = ReturnType<typeof calls>;
