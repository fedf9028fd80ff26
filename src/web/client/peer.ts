// One WebRTC connection to the other participant. A call may go through several: when either side
// reloads or loses its socket, both drop theirs and negotiate a new one (docs/signaling.md). The
// guest always makes the offer and the host answers, so both never offer at once; and the guest
// has one offer out at a time, so that an answer always belongs to the offer it is applied to. An
// offer whose answer does not come (lost with a socket, or never sent) is taken back after
// ANSWER_TIMEOUT_MS and made again; so is one whose answer could not be applied.
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
  /**
   * The host's side: an offer that does not follow on from the one this connection took before
   * (the guest took its own offer back and made another, whose media sections have new ids): it
   * cannot be applied here, and is for a new connection to answer.
   */
  onOfferForNewConnection(sdp: string): void;
}

/** The ICE servers for the connection: the call's TURN server, or none when none is configured. */
export function iceServersOf(turn: TurnCredentials): RTCIceServer[] {
  return turn.urls.length > 0 ? [{ urls: turn.urls, username: turn.username, credential: turn.credential }] : [];
}

/**
 * How long the guest waits for the answer to its offer. The host answers at once (it only sets
 * two descriptions): an answer this late is not coming (the socket it was sent on dropped, the
 * frame was lost), and an offer out blocks every later one (ICE restarts included).
 */
export const ANSWER_TIMEOUT_MS = 10_000;
/**
 * How many answers in a row may be refused (setRemoteDescription failed) before the guest stops
 * offering again at once: a host whose answers are all unusable would otherwise be offered to in a
 * tight loop. The next `peer_joined` (a new connection) or ICE restart starts over.
 */
const MAX_REFUSED_ANSWERS = 3;

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
  /** Takes the offer back when its answer does not come in time (ANSWER_TIMEOUT_MS). */
  private answerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Answers refused in a row (reset by one that is applied). */
  private refusedAnswers = 0;
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
      try {
        await this.pc.setRemoteDescription({ type: "offer", sdp });
      } catch (err) {
        // Refused by a connection that took an offer before: the guest started over (a rollback
        // of its first offer gives the next one new media ids). Refused by a fresh connection: the
        // offer itself is unusable, and a new connection would refuse it too.
        if (!this.pc.remoteDescription) throw err;
        this.handlers.onOfferForNewConnection(sdp);
        return;
      }
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
    clearTimeout(this.answerTimer);
    this.negotiate(async () => {
      try {
        await this.pc.setRemoteDescription({ type: "answer", sdp });
      } catch (err) {
        // Back to "stable", and offer again: nothing else would (the connection may have failed
        // already, and that state change has come and gone; or it never started).
        await this.rollback();
        // Reported only once the page gives up; until then, the next offer may well put it right.
        if (++this.refusedAnswers > MAX_REFUSED_ANSWERS) throw err;
        this.makeOffer(true);
        return;
      }
      this.refusedAnswers = 0;
      await this.addPendingCandidates();
    });
  }

  addRemoteCandidate(candidate: RTCIceCandidateInit): void {
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(candidate);
      return;
    }
    this.negotiate(() => this.addCandidate(candidate));
  }

  /** Stops the connection; none of its events reach the handlers any more. */
  close(): void {
    this.closed = true;
    clearTimeout(this.answerTimer);
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
      clearTimeout(this.answerTimer);
      this.answerTimer = setTimeout(() => this.answerMissing(), ANSWER_TIMEOUT_MS);
    });
  }

  /**
   * No answer in time: the offer is taken back and made again, with new ICE credentials (the host
   * may have applied the first one and be checking candidates with it). An answer to the first
   * offer arriving late is then applied to the second; if they do not fit, the connection fails
   * and the ICE restart that follows puts it right.
   */
  private answerMissing() {
    if (this.closed || !this.offerOut) return;
    this.offerOut = false;
    this.negotiate(async () => {
      await this.rollback();
      this.makeOffer(true);
    });
  }

  /** Takes our offer back (have-local-offer → stable), so that another can be made. */
  private async rollback() {
    if (this.pc.signalingState === "have-local-offer") await this.pc.setLocalDescription({ type: "rollback" });
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
    for (const candidate of pending) await this.addCandidate(candidate);
  }

  /**
   * Adds the other side's candidate, unless it belongs to a description that is not the current
   * one (ICE credentials of an answer that was never applied, or of the one before an ICE restart):
   * the browser refuses those, and they are of no use any more.
   */
  private async addCandidate(candidate: RTCIceCandidateInit) {
    const ufrag = candidate.usernameFragment;
    if (ufrag && !(this.pc.remoteDescription?.sdp.split(/\r?\n/).includes(`a=ice-ufrag:${ufrag}`) ?? false)) return;
    await this.pc.addIceCandidate(candidate);
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
