// Calls (docs/calls.md): initiate, join, signaling tokens, end, read, list. Initiate and end honour
// X-Idempotency-Key.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { pathId } from "../../domain/ids.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { idempotent } from "../../plugins/idempotency.ts";
import { sessionReplay } from "./session-replay.ts";
import { callSessionView, callView, pageView } from "./views.ts";

export default async function callRoutes(app: FastifyInstance) {
  const { calls } = app.services;
  // The security hook resolved the caller (guest or account) before the handler runs.
  // A 202 (the end is recorded, settlement still running) is not kept: a retry asks again.
  const withKey = { route: idempotent(app, { keep: (status) => status !== 202 }) };
  const withKeyAndFreshSession = { route: idempotent(app, sessionReplay(app)) };

  implement(
    app,
    "initiateCall",
    async (req, reply) => {
      const { short_code, payment_method_id, guest_name, payment_intent_id } = req.body;
      const request = { shortCode: short_code, paymentMethodId: payment_method_id, guestName: guest_name, paymentIntentId: payment_intent_id };
      return reply.code(201).send(callSessionView(await calls.initiate(req.principal, request)));
    },
    withKeyAndFreshSession,
  );
  implement(app, "joinCall", async (req) => callSessionView(await calls.join(req.principal, pathId(req.params.id))));
  implement(app, "createSignalingToken", async (req, reply) => {
    const id = pathId(req.params.id);
    const signaling_token = await calls.signalingToken(req.principal, id);
    // Fresh TURN credentials too: a reconnect an hour into a call would find the first ones expired.
    return reply.code(201).send({ signaling_token, turn_credentials: calls.turnFor(id) });
  });
  implement(app, "endCall", async (req, reply) => {
    // 202: the call is ending but its settlement is still running elsewhere; the client polls.
    const { finished, call } = await calls.end(req.principal, pathId(req.params.id));
    return reply.code(finished ? 200 : 202).send({ call: callView(call) });
  }, withKey);
  implement(app, "getCall", async (req) => ({ call: callView(await calls.get(req.principal, pathId(req.params.id))) }));
  implement(app, "listCalls", async (req) => {
    const { status, role, limit, cursor } = req.query;
    return pageView(await calls.list(req.principal, { status, role, limit: pageLimit(limit), cursor }), callView);
  });
}
