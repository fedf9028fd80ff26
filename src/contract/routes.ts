// The one way to register an HTTP route: `implement(app, "operationId", handler)`. Method, URL,
// request and response schemas, the security scheme and the rate-limit policy all come from the
// operation in openapi.yaml; a route plugin only supplies the function. Every implemented operation
// is recorded so that drift between the spec and the server is detected (test/contract).
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { AppError } from "../domain/errors.ts";
import type { PolicyName } from "../plugins/rate-limit.ts";
import type { Contract, Operation } from "./spec.ts";
import type { OperationId, ParamsOf, QueryOf, RequestBody, ResponseBody } from "./types.ts";

declare module "fastify" {
  interface FastifyInstance {
    contract: Contract;
    /** operationIds registered through implement(), for the drift check. */
    implemented: Set<string>;
  }
  interface FastifyContextConfig {
    operationId?: string;
  }
}

export type Handler<Id extends OperationId> = (
  req: FastifyRequest<{ Body: RequestBody<Id>; Querystring: QueryOf<Id>; Params: ParamsOf<Id> }>,
  reply: FastifyReply,
) => Promise<ResponseBody<Id> | FastifyReply>;

export interface ImplementOptions {
  /** Extra route options (bodyLimit for uploads, websocket …). */
  route?: Partial<RouteOptions>;
  /**
   * false: the body schema documents the request but the handler checks it (the V-app surface,
   * whose rules, order and messages are its own).
   */
  validateBody?: boolean;
}

function securityHook(app: FastifyInstance, op: Operation) {
  const alternatives = (op.spec.security ?? []) as Record<string, unknown>[];
  const schemes = alternatives.flatMap((a) => Object.keys(a));
  if (schemes.length === 0) return undefined;
  const verifiers = schemes.map((name) => {
    const v = app.securitySchemes[name];
    if (!v) throw new Error(`${op.operationId}: no verifier for security scheme ${name}`);
    return v;
  });
  // Any one scheme is enough (OpenAPI semantics of a list of alternatives).
  return async (req: FastifyRequest) => {
    let failure: unknown;
    for (const verify of verifiers) {
      try {
        return await verify(req);
      } catch (err) {
        failure ??= err;
      }
    }
    throw failure;
  };
}

function withoutBody(schema: Operation["schema"]) {
  const { body: _documentedOnly, ...rest } = schema;
  return rest;
}

export function implement<Id extends OperationId>(
  app: FastifyInstance,
  operationId: Id,
  handler: Handler<Id>,
  opts: ImplementOptions = {},
) {
  const op = app.contract.operations.get(operationId);
  if (!op) throw new Error(`openapi.yaml has no operation ${operationId}`);
  if (app.implemented.has(operationId)) throw new Error(`operation ${operationId} is implemented twice`);
  app.implemented.add(operationId);

  const auth = securityHook(app, op);
  const ownBodyRules = opts.validateBody === false;
  // A body in a content type the operation does not declare is refused (415) before it is read.
  const contentTypeCheck =
    !ownBodyRules && op.requestContentTypes.length > 0
      ? async (req: FastifyRequest) => {
          const type = String(req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
          const hasBody = req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0";
          if ((type || hasBody || req.headers["transfer-encoding"]) && !op.requestContentTypes.includes(type)) {
            throw new AppError("unsupported_media_type");
          }
        }
      : undefined;
  const onRequest = [auth, contentTypeCheck].filter((h) => h !== undefined);
  const policy: PolicyName | "none" = op.spec["x-rate-limit"] ?? (auth ? "authenticated" : "anonymous");
  const rateLimit = policy === "none" ? false : app.rateLimitPolicy(policy);

  app.route({
    method: op.method as RouteOptions["method"],
    url: op.url,
    schema: ownBodyRules ? withoutBody(op.schema) : op.schema,
    config: { operationId, ...(rateLimit ? { rateLimit } : {}) },
    // Authenticate before the body is read: an anonymous caller learns nothing about validation.
    ...(onRequest.length ? { onRequest } : {}),
    ...opts.route,
    handler: handler as RouteOptions["handler"],
  });
}
