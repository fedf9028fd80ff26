// One WebRTC connection to the other participant. A call may go through several: when either side
// reloads or loses its socket, both drop theirs and negotiate a new one (docs/signaling.md). The
// guest always makes the offer and the host answers, so both never offer at once; and the guest
// has one offer out at a time, so that an answer always belongs to the offer it is applied to. An
// offer whose answer does not come (lost with a socket, or never sent) is taken back after
// ANSWER_TIMEOUT_MS and made again; so is one whose answer could not be applied.
//
// The negotiation steps of a connection (applying a description, answering, adding a candidate)
// run one after the other, in the order their frames arrived: a candidate that arrives while the
// description it belongs to is still being applied waits for it, rather than being compared with
// the description before it (an ICE restart's candidates come right behind its offer).
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
   * cannot be applied here, and is for a new connection to answer, with the candidates that came
   * with it (this connection kept them: they belong to no description it has).
   */
  onOfferForNewConnection(sdp: string, candidates: RTCIceCandidateInit[]): void;
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
/**
 * How many of the other side's candidates are kept while no description of theirs fits them (they
 * came before their description, or it is being applied): more than any real gathering sends.
 */
const MAX_WAITING_CANDIDATES = 200;

export class PeerLink {
  private readonly pc: RTCPeerConnection;
  /**
   * The other side's candidates not added yet: those that arrived before the description they
   * belong to (addIceCandidate would refuse them), and those whose step has not run yet.
   */
  private waitingCandidates: RTCIceCandidateInit[] = [];
  /** ICE username fragments of the other side's current description, as last seen. */
  private remoteUfrags = new Set<string>();
  /** ICE username fragments of the other side's descriptions before the current one. */
  private readonly pastUfrags = new Set<string>();
  /** The negotiation steps, run one at a time (see the top of this file). */
  private steps: Promise<void> = Promise.resolve();
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
    // A new start: answers refused before do not count against this restart's.
    if (this.makeOffer(true)) this.refusedAnswers = 0;
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
        this.handlers.onOfferForNewConnection(sdp, this.waitingCandidates.splice(0));
        return;
      }
      await this.addWaitingCandidates();
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
      await this.addWaitingCandidates();
    });
  }

  /** The other side's candidate: added once the steps before it have run, and its description is applied. */
  addRemoteCandidate(candidate: RTCIceCandidateInit): void {
    if (this.closed) return;
    this.waitingCandidates.push(candidate);
    if (this.waitingCandidates.length > MAX_WAITING_CANDIDATES) this.waitingCandidates.shift();
    this.negotiate(() => this.addWaitingCandidates());
  }

  /** Stops the connection; none of its events reach the handlers any more. */
  close(): void {
    this.closed = true;
    clearTimeout(this.answerTimer);
    this.waitingCandidates = [];
    this.pc.close();
  }

  /** Makes an offer, unless one is out or being answered; whether it did. */
  private makeOffer(iceRestart: boolean): boolean {
    if (this.closed || this.offerOut || this.pc.signalingState !== "stable") return false;
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
    return true;
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

  /**
   * Adds the waiting candidates that belong to the other side's current description. Those of a
   * description before it (ICE credentials of the one before an ICE restart) are of no use any more,
   * and the browser would refuse them: dropped. Those of a description still to come (its offer or
   * answer is on the way, or this connection cannot take it: onOfferForNewConnection) wait.
   */
  private async addWaitingCandidates() {
    const remote = this.pc.remoteDescription;
    if (!remote || this.closed) return;
    const current = ufragsOf(remote.sdp);
    for (const ufrag of this.remoteUfrags) if (!current.has(ufrag)) this.pastUfrags.add(ufrag);
    this.remoteUfrags = current;
    const later: RTCIceCandidateInit[] = [];
    let failure: unknown = null;
    for (const candidate of this.waitingCandidates.splice(0)) {
      const ufrag = candidate.usernameFragment;
      if (ufrag && !current.has(ufrag)) {
        if (!this.pastUfrags.has(ufrag)) later.push(candidate);
        continue;
      }
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (err) {
        failure ??= err; // reported, once the others are added
      }
      if (this.closed) return;
    }
    // (Candidates that arrived meanwhile are behind their own step.)
    this.waitingCandidates.unshift(...later);
    if (failure) throw failure;
  }

  /**
   * Runs one negotiation step once the steps before it are done; a failure goes to onError, unless
   * the connection was closed meanwhile (the steps after it still run).
   */
  private negotiate(step: () => Promise<void>): void {
    this.steps = this.steps.then(step).catch((err: unknown) => {
      if (!this.closed) this.handlers.onError(err);
    });
  }
}

type IceCandidateFrame = Extract<ClientMessage, { type: "ice_candidate" }>["candidate"];

/** The ICE username fragments a session description names (one, or one per media section). */
function ufragsOf(sdp: string): Set<string> {
  const ufrags = new Set<string>();
  for (const line of sdp.split(/\r?\n/)) if (line.startsWith("a=ice-ufrag:")) ufrags.add(line.slice("a=ice-ufrag:".length));
  return ufrags;
}

function requireSdp(description: RTCSessionDescription | null): string {
  if (!description?.sdp) throw new Error("the browser produced no session description");
  return description.sdp;
}
