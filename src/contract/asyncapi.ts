// The signaling contract at run time: asyncapi.yaml is loaded and dereferenced once, and each
// message a client may send gets one validator compiled from its payload schema. Nothing here
// declares a message shape; it only reads the document (docs/signaling.md).
import { fileURLToPath } from "node:url";
import $RefParser from "@apidevtools/json-schema-ref-parser";
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import type { ClientMessage } from "../domain/signaling.ts";
import { readYamlDocument } from "./spec.ts";

export const ASYNCAPI_PATH = fileURLToPath(new URL("../../asyncapi.yaml", import.meta.url));

type Json = Record<string, any>;

export interface SignalingContract {
  /** The document as written (served at /v1/asyncapi.json). */
  document: Json;
  /** The dereferenced document (for tests). */
  dereferenced: Json;
  /**
   * A validator per message the server receives, by its `type`. A Map, not an object: a client's
   * `type` must never reach Object.prototype members ("toString", "constructor", "__proto__" …).
   */
  clientMessages: Map<string, ValidateFunction>;
}

// The document's schemas as the server applies them: a string's length is JavaScript's (UTF-16 code
// units, as the document says), only a frame's own properties count, the first error is enough.
// Ajv 8 still honours `unicode: false` but calls it deprecated at every start; with `strict`,
// anything else it would log is thrown instead, so it logs nothing.
const ajv = addFormats.default(new Ajv.default({ strict: true, unicode: false, ownProperties: true, allErrors: false, logger: false }));

/** Compiles a payload schema of the document the way the server validates frames. */
export const payloadValidator = (schema: Json): ValidateFunction => ajv.compile(schema);

/** The `type` a message's payload fixes (its `const`). */
export const messageType = (message: Json): string | undefined => message.payload?.properties?.type?.const;

/** The messages of the operations with this action: "receive" is client → server, "send" server → client. */
export function messagesOf(dereferenced: Json, action: "send" | "receive"): Json[] {
  return Object.values(dereferenced.operations as Record<string, Json>)
    .filter((op) => op.action === action)
    .flatMap((op) => op.messages as Json[]);
}

let cached: Promise<SignalingContract> | undefined;

export function loadSignalingContract(): Promise<SignalingContract> {
  return (cached ??= load());
}

async function load(): Promise<SignalingContract> {
  const document = await readYamlDocument(ASYNCAPI_PATH);
  const dereferenced = (await $RefParser.dereference(structuredClone(document))) as Json;
  const clientMessages = new Map<string, ValidateFunction>();
  for (const message of messagesOf(dereferenced, "receive")) {
    const type = messageType(message);
    if (typeof type !== "string" || clientMessages.has(type)) throw new Error(`asyncapi.yaml: message ${message.name} needs a payload with a unique \`type\` const`);
    clientMessages.set(type, payloadValidator(message.payload));
  }
  return { document, dereferenced, clientMessages };
}

/**
 * The document as served: its `servers` names this deployment, the WebSocket form of PUBLIC_URL
 * (`wss` for `https`), so that a client generated from it connects here.
 */
export function servedDocument(document: Json, publicUrl: string): Json {
  const url = new URL(publicUrl);
  const [template] = Object.values(document.servers as Record<string, Json>);
  const { pathname: _asWritten, ...rest } = template ?? {};
  const deployment = {
    ...rest,
    host: url.host,
    protocol: url.protocol === "https:" ? "wss" : "ws",
    ...(url.pathname !== "/" ? { pathname: url.pathname } : {}),
    title: "This deployment",
    description: "This deployment (PUBLIC_URL).",
  };
  return { ...document, servers: { deployment } };
}

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; code: "invalid_message"; message: string };
export type FrameParser = (text: string) => Parsed;

/** Parses and validates one text frame from a client against the document's client → server messages. */
export function frameParser({ clientMessages }: Pick<SignalingContract, "clientMessages">): FrameParser {
  const expected = [...clientMessages.keys()].join(", ");
  return (text) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { ok: false, code: "invalid_message", message: "frames must be JSON objects" };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { ok: false, code: "invalid_message", message: "frames must be JSON objects" };
    }
    const type = Object.hasOwn(value, "type") ? (value as { type?: unknown }).type : undefined;
    const validate = typeof type === "string" ? clientMessages.get(type) : undefined;
    if (!validate) return { ok: false, code: "invalid_message", message: `unknown message type; expected one of ${expected}` };
    if (!validate(value)) {
      const first = validate.errors?.[0];
      // A field the message does not have is named, so the client sees which one.
      const extra = first?.keyword === "additionalProperties" ? `/${String(first.params.additionalProperty)}` : "";
      return { ok: false, code: "invalid_message", message: `${type}${first?.instancePath ?? ""}${extra}: ${first?.message ?? "is invalid"}` };
    }
    return { ok: true, message: value as ClientMessage };
  };
}
