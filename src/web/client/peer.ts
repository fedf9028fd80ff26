// One WebRTC connection to the other participant. A call may go through several: when either side
// reloads or loses its socket, both drop theirs and negotiate a new one (docs/signaling.md). The
// guest always makes the offer and the host answers, so both never offer at once.
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
  private closed = false;

  constructor(iceServers: RTCIceServer[], localStream: MediaStream, private readonly handlers: PeerHandlers) {
    this.pc = new RTCPeerConnection({ iceServers });
    for (const track of localStream.getTracks()) this.pc.addTrack(track, localStream);
    // Without a camera (or a microphone) the offer would have no m-line for it, and the other side
    // could not send one either: ask to receive it anyway.
    if (localStream.getVideoTracks().length === 0) this.pc.addTransceiver("video", { direction: "recvonly" });
    if (localStream.getAudioTracks().length === 0) this.pc.addTransceiver("audio", { direction: "recvonly" });

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

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /** The guest's side: makes an offer (with new ICE credentials when restarting) and sends it. */
  offer(iceRestart = false): void {
    this.negotiate(async () => {
      const offer = await this.pc.createOffer({ iceRestart });
      await this.pc.setLocalDescription(offer);
      this.handlers.send({ type: "offer", sdp: requireSdp(this.pc.localDescription) });
    });
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
    this.negotiate(async () => {
      // An answer to an offer this connection no longer waits for (one made before a reconnect).
      if (this.pc.signalingState !== "have-local-offer") return;
      await this.pc.setRemoteDescription({ type: "answer", sdp });
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
