// The signaling protocol (docs/signaling.md): JSON text frames with a `type`. Client frames are
// validated on receipt against these TypeBox schemas; the server relays them to the other
// participant with `from` added and never looks inside an SDP.
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";

export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_MESSAGES_PER_SECOND = 50;
/** A connection whose unsent data exceeds this is a slow consumer and is closed. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
export const PING_INTERVAL_MS = 30_000;
export const PONG_TIMEOUT_MS = 10_000;

export const CloseCode = {
  normal: 1000,
  shutdown: 1001,
  badToken: 4001,
  policyViolation: 4008,
  replaced: 4009,
  callEnded: 4010,
} as const;

const Sdp = Type.String({ minLength: 1, maxLength: 60_000 });

export const Offer = Type.Object({ type: Type.Literal("offer"), sdp: Sdp }, { additionalProperties: false });
export const Answer = Type.Object({ type: Type.Literal("answer"), sdp: Sdp }, { additionalProperties: false });
export const IceCandidate = Type.Object(
  {
    type: Type.Literal("ice_candidate"),
    candidate: Type.Object(
      {
        candidate: Type.String({ maxLength: 4096 }),
        sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
        sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Null()])),
        usernameFragment: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export const IceRestart = Type.Object({ type: Type.Literal("ice_restart") }, { additionalProperties: false });

export const ClientMessage = Type.Union([Offer, Answer, IceCandidate, IceRestart]);
export type ClientMessage = Static<typeof ClientMessage>;
export const RELAYED_TYPES = ["offer", "answer", "ice_candidate", "ice_restart"] as const;

// A Map, not an object: a client's `type` must never reach Object.prototype members
// ("toString", "constructor", "__proto__" …).
const checkers = new Map<string, ReturnType<typeof TypeCompiler.Compile>>([
  ["offer", TypeCompiler.Compile(Offer)],
  ["answer", TypeCompiler.Compile(Answer)],
  ["ice_candidate", TypeCompiler.Compile(IceCandidate)],
  ["ice_restart", TypeCompiler.Compile(IceRestart)],
]);

/** Server → client frames. */
export type ServerMessage =
  | { type: "welcome"; call_id: string; role: "host" | "guest"; peer_present: boolean }
  | { type: "peer_joined"; role: "host" | "guest" }
  | { type: "peer_left"; role: "host" | "guest" }
  | { type: "call_state"; status: string }
  | { type: "billing"; window: number; held_until: string }
  | { type: "call_ended"; reason: string }
  | { type: "error"; code: string; message: string };

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; code: "invalid_message"; message: string };

/** Parses and validates one text frame from a client. */
export function parseClientFrame(text: string): Parsed {
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
  const checker = typeof type === "string" ? checkers.get(type) : undefined;
  if (!checker) {
    return { ok: false, code: "invalid_message", message: `unknown message type; expected one of ${RELAYED_TYPES.join(", ")}` };
  }
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    return { ok: false, code: "invalid_message", message: `${type}${first?.path ?? ""}: ${first?.message ?? "is invalid"}` };
  }
  return { ok: true, message: value as ClientMessage };
}
