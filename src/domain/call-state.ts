// The call state machine (docs/calls.md, "States" and "Transitions") and the one function that
// changes a call's status. Every change is a compare-and-set — UPDATE … WHERE status IN (the states
// it may come from) — so requests, sockets, engine ticks and instances racing on one call agree on
// a single winner; a caller that loses gets null and acts on the state that won.
//
//   pending ─► waiting ─► active ─► ending ─► completed
//      │          │                    │          ▲
//      │          └──► cancelled ◄─────┘ (never active: guest left, host declined or never came,
//      │                                  link unavailable)
//      └──► failed (first hold declined)       ending ─► failed (a capture keeps failing) ─► completed
import type { Db } from "../db/client.ts";
import type { Call, CallStatus, Prisma } from "../db/generated/client.ts";

/** States a call never leaves on its own (failed may still become completed when a retried capture succeeds). */
export const FINISHED: readonly CallStatus[] = ["completed", "cancelled", "failed"];
/** States in which participants connect and talk. */
export const LIVE: readonly CallStatus[] = ["waiting", "active"];

/** For each state, the states a call may enter it from. */
const SOURCES: Record<CallStatus, readonly CallStatus[]> = {
  pending: [],
  waiting: ["pending"],
  active: ["waiting"],
  ending: ["active"],
  cancelled: ["pending", "waiting"],
  failed: ["pending", "ending"],
  completed: ["ending", "failed"],
};

export const isFinished = (status: CallStatus) => FINISHED.includes(status);

export interface TransitionOptions {
  /** Other columns written with the status (end reason, instants …). */
  changes?: Omit<Prisma.CallUpdateManyMutationInput, "status" | "updatedAt">;
  /** Only from these states (a subset of the allowed sources). */
  from?: readonly CallStatus[];
  /** Further conditions the row must meet at the moment of the change (e.g. a participant still gone). */
  guard?: Prisma.CallWhereInput;
}

/**
 * Moves the call to `to` if its current state allows it. Returns the updated call, or null when
 * another writer got there first (or the move is not allowed from the current state).
 */
export async function transition(db: Db, callId: string, to: CallStatus, at: Date, opts: TransitionOptions = {}): Promise<Call | null> {
  const allowed = (opts.from ?? SOURCES[to]).filter((s) => SOURCES[to].includes(s));
  if (allowed.length === 0) return null;
  const [row] = await db.call.updateManyAndReturn({
    where: { ...opts.guard, id: callId, status: { in: [...allowed] } },
    data: { ...opts.changes, status: to, updatedAt: at },
  });
  return row ?? null;
}
