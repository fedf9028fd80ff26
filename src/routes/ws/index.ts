// GET /ws?token=st_… — the signaling socket (docs/signaling.md). The token is checked and
// consumed before the upgrade: anything wrong is a plain HTTP 401 and nothing is upgraded.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import { implement } from "../../contract/routes.ts";
import type { Call } from "../../db/generated/client.ts";
import type { ParticipantRole } from "../../domain/principal.ts";
import { AppError } from "../../domain/errors.ts";
import { fromUlid } from "../../domain/ids.ts";
import { CloseCode } from "../../domain/signaling.ts";

const admitted = new WeakMap<FastifyRequest, { call: Call; role: ParticipantRole }>();

export default async function signalingRoutes(app: FastifyInstance) {
  const { calls, signaling } = app.services;

  implement(
    app,
    "connectSignaling",
    async () => {
      throw new AppError("validation_error", { upgrade: "must be a WebSocket upgrade request" });
    },
    {
      route: {
        preHandler: async (req: FastifyRequest) => {
          if (!req.ws) return; // the handler answers 400
          const { token, call_id } = req.query as { token?: string; call_id?: string };
          if (!token || signaling.closing) throw new AppError("unauthorized");
          const claim = await calls.consumeSignalingToken(token);
          if (!claim) throw new AppError("unauthorized");
          if (call_id !== undefined && fromUlid(call_id) !== claim.call.id) throw new AppError("unauthorized");
          admitted.set(req, { call: claim.call, role: claim.role });
        },
        wsHandler: (socket: WebSocket, req: FastifyRequest) => {
          const claim = admitted.get(req);
          if (!claim) return socket.close(CloseCode.badToken, "bad token");
          admitted.delete(req);
          signaling.attach(socket, claim.call, claim.role);
        },
      } as never,
    },
  );
}
