// Handler types derived from the generated `operations` interface, so that a handler returning a
// body the spec does not describe fails to compile.
import type { Readable } from "node:stream";
import type { operations, operationSecurity } from "./generated/api.d.ts";
import type { SchemePrincipal } from "../plugins/auth.ts";

export type OperationId = keyof operations;
type Op<Id extends OperationId> = operations[Id];
type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

/**
 * The body of one response: its JSON schema's type; for other media types (text, images, streams)
 * whatever the route sends, unchecked.
 */
type BodyOf<R> = R extends { content: { "application/json": infer B } } ? B | Serialized<B> : R extends { content: object } ? unknown : undefined;

declare const encodes: unique symbol;
/**
 * A JSON body already written out (bytes, text or a stream of bytes) that a route sends as it is,
 * labelled with the shape it encodes so that it is checked like an object body would be.
 */
export type Serialized<T, Bytes = Buffer | string | Readable> = Bytes & { readonly [encodes]: T };
/** Labels bytes that encode a `T` (the caller wrote them from typed values). */
export const serialized = <T, Bytes extends Buffer | string | Readable = Buffer | string | Readable>(bytes: Bytes) => bytes as Serialized<T, Bytes>;

/** The JSON body of one documented response. */
export type JsonBody<Id extends OperationId, S extends keyof Op<Id>["responses"]> = Json<Op<Id>["responses"][S]>;

/** The operation's documented responses, status → body: `reply.code(201).send(x)` checks x against 201's schema. */
export type ReplyMap<Id extends OperationId> = { [S in keyof Op<Id>["responses"]]: BodyOf<Op<Id>["responses"][S]> };

/** The body a handler may simply return: the 200 response's (a route answering anything else says so with reply.code). */
export type ReturnedBody<Id extends OperationId> = 200 extends keyof Op<Id>["responses"] ? BodyOf<Op<Id>["responses"][200]> : never;

/** The JSON request body; `| undefined` when the operation's body is optional. */
export type RequestBody<Id extends OperationId> = Op<Id> extends { requestBody: infer R }
  ? Json<NonNullable<R>>
  : Op<Id> extends { requestBody?: infer R }
    ? [NonNullable<R>] extends [never]
      ? undefined
      : Json<NonNullable<R>> | undefined
    : undefined;
export type QueryOf<Id extends OperationId> = Op<Id>["parameters"] extends { query?: infer Q } ? NonNullable<Q> : never;
export type ParamsOf<Id extends OperationId> = Op<Id>["parameters"] extends { path?: infer P } ? NonNullable<P> : never;

/**
 * The caller a handler sees: for an operation that declares security, the principal its schemes
 * yield (never null: the security hook refused the request otherwise); null for a public one.
 */
export type CallerOf<Id extends OperationId> = [operationSecurity[Id]] extends [never]
  ? null
  : SchemePrincipal[operationSecurity[Id] & keyof SchemePrincipal];
