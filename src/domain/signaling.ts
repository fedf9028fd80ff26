// The signaling protocol (docs/signaling.md, asyncapi.yaml): JSON text frames with a `type`. Client
// frames are validated on receipt against the payload schemas of asyncapi.yaml; the server relays
// them to the other participant with `from` added and never looks inside an SDP. The TypeBox schemas
// below give the frames their TypeScript types; a test holds them equal to the document's.
import { Type, type Static, type TLiteral, type TObject, type TSchema } from "@sinclair/typebox";

export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_MESSAGES_PER_SECOND = 50;
/** A connection whose unsent data exceeds this is a slow consumer and is closed. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
export const PING_INTERVAL_MS = 30_000;
export const PONG_TIMEOUT_MS = 10_000;

/** Every code the server closes a connection with (asyncapi.yaml's `x-close-codes` describes each). */
export const CloseCode = {
  shutdown: 1001,
  /** A malformed WebSocket frame (unmasked, reserved bits, unknown opcode): the ws library closes with it (RFC 6455). */
  protocolError: 1002,
  /** A text frame that is not UTF-8: the ws library closes with it (RFC 6455). */
  invalidUtf8: 1007,
  setupFailed: 1011,
  badToken: 4001,
  policyViolation: 4008,
  replaced: 4009,
  callEnded: 4010,
} as const;

const StringEnum = <const T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({ type: "string", enum: [...values] });
const Role = StringEnum(["guest", "host"]);
const Sdp = Type.String({ minLength: 1, maxLength: 60_000 });
const OrNull = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));

// Client → server: the server refuses any field not declared.
export const Offer = Type.Object({ type: Type.Literal("offer"), sdp: Sdp }, { additionalProperties: false });
export const Answer = Type.Object({ type: Type.Literal("answer"), sdp: Sdp }, { additionalProperties: false });
export const IceCandidate = Type.Object(
  {
    type: Type.Literal("ice_candidate"),
    candidate: Type.Object(
      {
        candidate: Type.String({ maxLength: 4096 }),
        sdpMid: OrNull(Type.String({ maxLength: 256 })),
        sdpMLineIndex: OrNull(Type.Integer({ minimum: 0, maximum: 65535 })),
        usernameFragment: OrNull(Type.String({ maxLength: 256 })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export const IceRestart = Type.Object({ type: Type.Literal("ice_restart") }, { additionalProperties: false });

export const ClientMessage = Type.Union([Offer, Answer, IceCandidate, IceRestart]);
export type ClientMessage = Static<typeof ClientMessage>;
/** The `type`s a client may send: each is validated (against asyncapi.yaml) and relayed. */
export const CLIENT_MESSAGE_TYPES = ClientMessage.anyOf.map((m) => m.properties.type.const);

// Server → client: clients ignore fields they do not know, so these stay open.
/** A client frame as the other participant receives it: unchanged, plus `from`. */
const relayed = <T extends TObject>(message: T) => Type.Object({ ...message.properties, from: Role });
export const ServerMessage = Type.Union([
  Type.Object({ type: Type.Literal("welcome"), call_id: Type.String({ pattern: "^[0-7][0-9A-HJKMNP-TV-Z]{25}$" }), role: Role, peer_present: Type.Boolean() }),
  Type.Object({ type: Type.Literal("call_state"), status: StringEnum(["pending", "waiting", "active", "ending", "completed", "cancelled", "failed"]) }),
  Type.Object({ type: Type.Literal("peer_joined"), role: Role }),
  Type.Object({ type: Type.Literal("peer_left"), role: Role }),
  Type.Object({ type: Type.Literal("billing"), window: Type.Integer({ minimum: 1 }), status: StringEnum(["held", "hold_failed"]), held_until: Type.String({ format: "date-time" }) }),
  Type.Object({ type: Type.Literal("call_ended"), reason: Type.String() }),
  Type.Object({ type: Type.Literal("error"), code: StringEnum(["invalid_message", "rate_limited", "internal_error"]), message: Type.String() }),
  relayed(Offer),
  relayed(Answer),
  relayed(IceCandidate),
  relayed(IceRestart),
]);
/** Server → client frames: every frame the hub sends has this type. */
export type ServerMessage = Static<typeof ServerMessage>;

/** The `type`s the server sends (a relayed frame keeps its sender's `type`). */
export const SERVER_MESSAGE_TYPES = [...new Set(ServerMessage.anyOf.map((m) => (m.properties as { type: TLiteral<string> }).type.const))];
