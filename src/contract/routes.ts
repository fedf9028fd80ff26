// The one way to register an HTTP route: `implement(app, "operationId", handler)`. Method, URL,
// request and response schemas, the security scheme and the rate-limit policy all come from the
// operation in openapi.yaml; a route plugin only supplies the function. Every implemented operation
// is recorded so that drift between the spec and the server is detected (test/contract).
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { AppError } from "../domain/errors.ts";
import type { SecurityScheme } from "../plugins/auth.ts";
import { PER_CALLER_POLICIES, type PolicyName } from "../plugins/rate-limit.ts";
import type { Contract, Operation } from "./spec.ts";
import type { CallerOf, OperationId, ParamsOf, QueryOf, ReplyMap, RequestBody, ReturnedBody } from "./types.ts";

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

type RouteTypes<Id extends OperationId> = { Body: RequestBody<Id>; Querystring: QueryOf<Id>; Params: ParamsOf<Id>; Reply: ReplyMap<Id> };

/**
 * A handler: the request typed by the operation's parameters and body, with the caller its security
 * yields; the reply typed by status (`reply.code(201).send(x)` is checked against the 201 schema).
 * Returning a value answers 200 with it.
 */
export type Handler<Id extends OperationId> = (
  req: FastifyRequest<RouteTypes<Id>> & { principal: CallerOf<Id> },
  reply: FastifyReply<RouteTypes<Id>>,
) => Promise<ReturnedBody<Id> | FastifyReply<RouteTypes<Id>>>;

export interface ImplementOptions {
  /** Extra route options (bodyLimit for uploads, websocket …). */
  route?: Partial<RouteOptions>;
  /**
   * false: the body schema documents the request but the handler checks it (the V-app surface,
   * whose rules, order and messages are its own).
   */
  validateBody?: boolean;
}

type Hook = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

function securityHook(app: FastifyInstance, op: Operation): Hook | undefined {
  const alternatives = (op.spec.security ?? []) as Record<string, unknown>[];
  const schemes = alternatives.flatMap((a) => Object.keys(a));
  if (schemes.length === 0) return undefined;
  const verifiers = schemes.map((name) => {
    const v = Object.hasOwn(app.securitySchemes, name) ? app.securitySchemes[name as SecurityScheme] : undefined;
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

/**
 * Rate limit and authentication, both before the body is read, so that every request of a limited
 * operation is counted and answered with the limit headers, whatever else is wrong with it.
 * Per-IP policies count first. Per-caller policies need the caller's identity, so they count after
 * the security hook; a caller whose token is refused is not identified and spends the per-IP
 * `anonymous` budget instead.
 */
function guardHooks(app: FastifyInstance, policy: PolicyName | "none", auth: Hook | undefined): Hook[] {
  const limit = policy === "none" ? undefined : app.rateLimiter(policy);
  if (policy === "none" || !PER_CALLER_POLICIES.has(policy) || !auth) return [limit, auth].filter((h) => h !== undefined);
  const anonymous = app.rateLimiter("anonymous");
  return [
    async (req, reply) => {
      try {
        await auth(req, reply);
      } catch (err) {
        await anonymous?.(req, reply);
        throw err;
      }
      await limit?.(req, reply);
    },
  ];
}

/** The request has a body (possibly empty bytes aside): a length above zero, or chunks. */
const carriesBody = (req: FastifyRequest) =>
  (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0") || req.headers["transfer-encoding"] !== undefined;

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
  const contentTypeCheck: Hook | undefined =
    !ownBodyRules && op.requestContentTypes.length > 0
      ? async (req: FastifyRequest) => {
          const type = String(req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
          if ((type || carriesBody(req)) && !op.requestContentTypes.includes(type)) {
            throw new AppError("unsupported_media_type");
          }
        }
      : undefined;
  const policy: PolicyName | "none" = op.spec["x-rate-limit"] ?? (auth ? "authenticated" : "anonymous");
  const onRequest = [...guardHooks(app, policy, auth), ...(contentTypeCheck ? [contentTypeCheck] : [])];
  const trimFields: Hook | undefined =
    op.trimmed.length > 0
      ? async (req: FastifyRequest) => {
          const body = req.body as Record<string, unknown> | null;
          if (!body || typeof body !== "object" || Array.isArray(body)) return;
          for (const field of op.trimmed) if (typeof body[field] === "string") body[field] = body[field].trim();
        }
      : undefined;
  // The validator sees an absent body as null, so that an optional body may be left out; a JSON
  // `null` actually sent is a body, and not the object the document describes.
  const optionalJsonBody = !ownBodyRules && op.requestContentTypes.includes("application/json") && op.spec.requestBody?.required !== true;
  const sentNull: Hook | undefined = optionalJsonBody
    ? async (req: FastifyRequest) => {
        if (req.body === null && carriesBody(req)) throw new AppError("validation_error", { body: "must be an object" });
      }
    : undefined;
  const preValidation = [trimFields, sentNull].filter((h) => h !== undefined);

  // Tests: the handler's object as it was, before the serializer drops what the schema lacks.
  const keepReply = app.keepReply;
  const preSerialization = keepReply
    ? async (req: FastifyRequest, _reply: FastifyReply, payload: unknown) => {
        keepReply(req, payload);
        return payload;
      }
    : undefined;

  app.route({
    method: op.method as RouteOptions["method"],
    url: op.url,
    schema: ownBodyRules ? withoutBody(op.schema) : op.schema,
    config: { operationId },
    ...(onRequest.length ? { onRequest } : {}),
    ...(preValidation.length ? { preValidation } : {}),
    ...(preSerialization ? { preSerialization } : {}),
    ...opts.route,
    handler: handler as RouteOptions["handler"],
  });
}
