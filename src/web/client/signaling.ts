// The signaling socket of one call (docs/signaling.md; asyncapi.yaml is the contract): JSON text
// frames relayed between the guest and the host. The frame types are the server's own, imported
// as types only, so nothing of the server ends up in the bundle.
import type { ClientMessage, ServerMessage as ServerFrame } from "../../domain/signaling.ts";
import { API_BASE } from "./api.ts";

export type { ClientMessage };

/**
 * A frame from the server: its own (welcome, billing, …), or a client frame of the other
 * participant with `from` added. (The server's union types its relayed frames loosely, as it only
 * forwards them; here they are spelled out.)
 */
export type ServerMessage = Extract<ServerFrame, { type: string }> | (ClientMessage & { from: "guest" | "host" });

/** The close codes the page acts on (asyncapi.yaml, `x-close-codes`). */
export const CLOSE_REPLACED = 4009;
export const CLOSE_CALL_ENDED = 4010;

export interface SignalingHandlers {
  onMessage(message: ServerMessage): void;
  /** The socket closed without `close()` being called: `code` says why. */
  onClose(code: number): void;
}

export class SignalingSocket {
  private readonly socket: WebSocket;
  private closing = false;

  /** Connects with a signaling token (single use: each connection needs a fresh one). */
  constructor(token: string, callId: string, handlers: SignalingHandlers) {
    const url = new URL("ws", API_BASE);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.search = new URLSearchParams({ token, call_id: callId }).toString();
    this.socket = new WebSocket(url);
    this.socket.addEventListener("message", (event) => {
      // The server only sends JSON text frames; anything else is ignored rather than fatal.
      if (typeof event.data !== "string") return;
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data) as ServerMessage;
      } catch {
        return;
      }
      handlers.onMessage(message);
    });
    this.socket.addEventListener("close", (event) => {
      if (!this.closing) handlers.onClose(event.code);
    });
  }

  /**
   * Sends a frame to the other participant. A frame sent while the socket is not open is dropped,
   * as the server drops one sent while the peer is away: both sides negotiate again on `peer_joined`.
   */
  send(message: ClientMessage): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Closes the socket for good; no `onClose` follows. */
  close(): void {
    this.closing = true;
    this.socket.close(1000, "bye");
  }
}
