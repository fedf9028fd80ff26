// Calls (docs/calls.md): initiate, join, signaling tokens, end, read, list. Initiate and end honour
// X-Idempotency-Key.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { fromUlid } from "../../domain/ids.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { idempotent } from "../../plugins/idempotency.ts";
import { sessionReplay } from "./session-replay.ts";

export default async function callRoutes(app: FastifyInstance) {
  const { calls } = app.services;
  // The security hook resolved the caller (guest or account) before the handler runs.
  const who = (req: { principal: { kind: "user" | "guest"; id: string } }) => req.principal;
  const callId = (id: string) => fromUlid(id) ?? "00000000-0000-0000-0000-000000000000";
  // A 202 (the end is recorded, settlement still running) is not kept: a retry asks again.
  const withKey = { route: idempotent(app, { keep: (status) => status !== 202 }) };
  const withKeyAndFreshSession = { route: idempotent(app, sessionReplay(app)) };

  implement(app, "initiateCall", async (req, reply) => reply.code(201).send(await calls.initiate(who(req), req.body)), withKeyAndFreshSession);
  implement(app, "joinCall", async (req) => calls.join(who(req), callId(req.params.id)));
  implement(app, "createSignalingToken", async (req, reply) =>
    reply.code(201).send(await calls.signalingToken(who(req), callId(req.params.id))),
  );
  implement(app, "endCall", async (req, reply) => {
    // 202: the call is ending but its settlement is still running elsewhere; the client polls.
    const { finished, call } = await calls.end(who(req), callId(req.params.id));
    return reply.code(finished ? 200 : 202).send({ call });
  }, withKey);
  implement(app, "getCall", async (req) => calls.get(who(req), callId(req.params.id)));
  implement(app, "listCalls", async (req) => {
    const { status, role, limit, cursor } = req.query;
    return calls.list(who(req), { status, role, limit: pageLimit(limit), cursor });
  });
}
