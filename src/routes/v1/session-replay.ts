// Idempotent replays of a call session answer (`{call, signaling_token, turn_credentials}`, from
// initiate) keep no secret at rest: the stored body has `signaling_token` and `turn_credentials`
// set to null, and a replay gets a signaling token issued now for the same participant and fresh
// TURN credentials, the rest of the body as first answered. A replay once the call has ended has no
// session to give: 409 call_not_active with `details.status` (the call's status now) and
// `details.call_id`, so a client that lost the first answer still learns which call it made.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AppError, isAppError } from "../../domain/errors.ts";
import { fromUlid } from "../../domain/ids.ts";
import type { IdempotencyOptions } from "../../plugins/idempotency.ts";

type StoredSession = { call: { id: string }; signaling_token: unknown; turn_credentials: unknown };

export function sessionReplay(app: FastifyInstance): IdempotencyOptions {
  return {
    redact: (body) => ({ ...(body as StoredSession), signaling_token: null, turn_credentials: null }),
    // A decline is not kept: a 3-D Secure one carries the intent's client secret, and a retry
    // (after the payer authenticated, or with another card) must run again anyway.
    keep: (status) => status !== 402,
    refresh: async (stored, req: FastifyRequest) => {
      const session = stored as StoredSession;
      const { calls } = app.services;
      const callId = fromUlid(session.call.id);
      if (!req.principal || !callId) throw new AppError("internal_error");
      try {
        const signaling_token = await calls.signalingToken(req.principal, callId);
        const { urls, username, credential } = calls.turnFor(callId); // only the declared fields: a replay is not serialized by the schema
        return { ...session, signaling_token, turn_credentials: { urls, username, credential } };
      } catch (err) {
        if (isAppError(err) && err.code === "call_not_active") throw new AppError("call_not_active", { ...err.details, call_id: session.call.id });
        throw err;
      }
    },
  };
}
