// Calls (SPEC 4.7): initiate, join, signaling tokens, end, read, list. Initiate and end honour
// X-Idempotency-Key.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { AppError } from "../../domain/errors.ts";
import { fromUlid } from "../../domain/ids.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { idempotent } from "../../plugins/idempotency.ts";

export default async function callRoutes(app: FastifyInstance) {
  const { calls } = app.calling;
  const who = (req: { principal: { kind: "user" | "guest"; id: string } | null }) => {
    if (!req.principal) throw new AppError("unauthorized");
    return req.principal;
  };
  const callId = (id: string) => fromUlid(id) ?? "00000000-0000-0000-0000-000000000000";
  const withKey = { route: idempotent(app) };

  implement(app, "initiateCall", async (req, reply) => reply.code(201).send(await calls.initiate(who(req), req.body)), withKey);
  implement(app, "joinCall", async (req) => calls.join(who(req), callId(req.params.id)));
  implement(app, "createSignalingToken", async (req, reply) =>
    reply.code(201).send(await calls.signalingToken(who(req), callId(req.params.id))),
  );
  implement(app, "endCall", async (req) => calls.end(who(req), callId(req.params.id)), withKey);
  implement(app, "getCall", async (req) => calls.get(who(req), callId(req.params.id)));
  implement(app, "listCalls", async (req) => {
    const { status, role, limit, cursor } = req.query;
    return calls.list(who(req), { status, role, limit: pageLimit(limit), cursor });
  });
}
