// One WebRTC connection to the other participant. A call may go through several: when either side
// reloads or loses its socket, both drop theirs and negotiate a new one (docs/signaling.md). The
// guest always makes the offer and the host answers, so both never offer at once; and the guest
// has one offer out at a time, so that an answer always belongs to the offer it is applied to.
import type { TurnCredentials } from "./api.ts";
import type { ClientMessage } from "./signaling.ts";

export interface PeerHandlers {
  /** Sends a frame to the other participant through the signaling socket. */
  send(message: ClientMessage): void;
  /** The other participant's media arrived. */
  onRemoteStream(stream: MediaStream): void;
  /** RTCPeerConnection.connectionState changed. */
  onStateChange(state: RTCPeerConnectionState): void;
  /** A negotiation step failed (a malformed description, a closed connection…). */
  onError(err: unknown): void;
}

/** The ICE servers for the connection: the call's TURN server, or none when none is configured. */
export function iceServersOf(turn: TurnCredentials): RTCIceServer[] {
  return turn.urls.length > 0 ? [{ urls: turn.urls, username: turn.username, credential: turn.credential }] : [];
}

export class PeerLink {
  private readonly pc: RTCPeerConnection;
  /** Candidates that arrived before the remote description: addIceCandidate would refuse them. */
  private pendingCandidates: RTCIceCandidateInit[] = [];
  /**
   * Our offer is out: from createOffer until its answer is applied. The frames carry no offer id,
   * so a second offer meanwhile would make the answer to the first indistinguishable from the
   * answer to the second (ICE-restart glare): none is made until then.
   */
  private offerOut = false;
  private closed = false;

  constructor(iceServers: RTCIceServer[], localStream: MediaStream, private readonly handlers: PeerHandlers) {
    this.pc = new RTCPeerConnection({ iceServers });
    for (const track of localStream.getTracks()) this.pc.addTrack(track, localStream);

    this.pc.addEventListener("icecandidate", (event) => {
      // A null candidate marks the end of gathering; the peer needs nothing for it.
      if (event.candidate && !this.closed) handlers.send({ type: "ice_candidate", candidate: event.candidate.toJSON() as IceCandidateFrame });
    });
    this.pc.addEventListener("track", (event) => {
      if (this.closed) return;
      handlers.onRemoteStream(event.streams[0] ?? new MediaStream([event.track]));
    });
    this.pc.addEventListener("connectionstatechange", () => {
      if (!this.closed) handlers.onStateChange(this.pc.connectionState);
    });
  }

  /** The guest's side: makes an offer and sends it. Nothing happens while an offer is out. */
  offer(): void {
    this.makeOffer(false);
  }

  /**
   * The guest's side: new ICE credentials and candidates, after the connection failed (here, or on
   * the host's side, which asks with `ice_restart`). Ignored while an offer is out: a restart is
   * already under way, or the answer still to come settles the connection first.
   */
  restartIce(): void {
    this.makeOffer(true);
  }

  /** The host's side: answers the guest's offer. */
  acceptOffer(sdp: string): void {
    this.negotiate(async () => {
      await this.pc.setRemoteDescription({ type: "offer", sdp });
      await this.addPendingCandidates();
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      this.handlers.send({ type: "answer", sdp: requireSdp(this.pc.localDescription) });
    });
  }

  /** The guest's side: the host's answer to our offer. */
  acceptAnswer(sdp: string): void {
    // Only while our offer waits for its answer: anything else (a duplicate, an answer meant for
    // the connection before a reconnect) answers no offer of this connection.
    if (!this.offerOut || this.pc.signalingState !== "have-local-offer") return;
    this.offerOut = false; // taken now: a second answer arriving meanwhile is not applied too
    this.negotiate(async () => {
      try {
        await this.pc.setRemoteDescription({ type: "answer", sdp });
      } catch (err) {
        // Back to "stable", so that the next offer (an ICE restart) can be made.
        await this.pc.setLocalDescription({ type: "rollback" }).catch(() => {});
        throw err;
      }
      await this.addPendingCandidates();
    });
  }

  addRemoteCandidate(candidate: RTCIceCandidateInit): void {
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(candidate);
      return;
    }
    this.negotiate(() => this.pc.addIceCandidate(candidate));
  }

  /** Stops the connection; none of its events reach the handlers any more. */
  close(): void {
    this.closed = true;
    this.pendingCandidates = [];
    this.pc.close();
  }

  private makeOffer(iceRestart: boolean) {
    if (this.closed || this.offerOut || this.pc.signalingState !== "stable") return;
    this.offerOut = true;
    this.receiveEveryKind();
    this.negotiate(async () => {
      try {
        await this.pc.setLocalDescription(await this.pc.createOffer({ iceRestart }));
        this.handlers.send({ type: "offer", sdp: requireSdp(this.pc.localDescription) });
      } catch (err) {
        this.offerOut = false;
        throw err;
      }
    });
  }

  /**
   * The offer asks for audio and video even when this side sends neither (no camera, say): without
   * an m-line for it, the other side could not send it either. (The answering side needs none: its
   * answer follows the offer's m-lines.)
   */
  private receiveEveryKind() {
    const kinds = new Set(this.pc.getTransceivers().map((transceiver) => transceiver.receiver.track.kind));
    for (const kind of ["audio", "video"]) if (!kinds.has(kind)) this.pc.addTransceiver(kind, { direction: "recvonly" });
  }

  private async addPendingCandidates() {
    const pending = this.pendingCandidates.splice(0);
    for (const candidate of pending) await this.pc.addIceCandidate(candidate);
  }

  /** Runs one negotiation step; a failure goes to onError, unless the connection was closed meanwhile. */
  private negotiate(step: () => Promise<void>): void {
    step().catch((err: unknown) => {
      if (!this.closed) this.handlers.onError(err);
    });
  }
}

type IceCandidateFrame = Extract<ClientMessage, { type: "ice_candidate" }>["candidate"];

function requireSdp(description: RTCSessionDescription | null): string {
  if (!description?.sdp) throw new Error("the browser produced no session description");
  return description.sdp;
}
