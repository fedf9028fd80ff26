// Handler types derived from the generated `operations` interface, so that a handler returning a
// body the spec does not describe fails to compile.
import type { operations, operationSecurity } from "./generated/api.d.ts";
import type { SchemePrincipal } from "../plugins/auth.ts";

export type OperationId = keyof operations;
type Op<Id extends OperationId> = operations[Id];
type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

/** Union of the JSON bodies an operation may answer with. */
export type ResponseBody<Id extends OperationId> = { [S in keyof Op<Id>["responses"]]: Json<Op<Id>["responses"][S]> }[keyof Op<Id>["responses"]];

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
