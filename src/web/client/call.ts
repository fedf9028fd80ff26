// The call view both pages share (section #call, then #ended): the signaling socket, the WebRTC
// connection, the running cost and the billing events, the controls, and the end with the amount
// charged. The protocol is docs/signaling.md; the billing rules are docs/billing.md.
import {
  api, ApiError, describeError, idempotencyKey, isFinalError, isUnauthenticated, request, SignedOutError, type Auth, type Call, type Schemas,
  type TurnCredentials,
} from "./api.ts";
import { byId, clearError, formatClock, moveFocusTo, showError, sleep, whileBusy } from "./dom.ts";
import { stopLocalMedia } from "./media.ts";
import { costOfSeconds, formatAmount, formatCents } from "./money.ts";
import { iceServersOf, PeerLink } from "./peer.ts";
import { CLOSE_CALL_ENDED, CLOSE_REPLACED, SignalingSocket, type ServerMessage } from "./signaling.ts";

export type Role = "guest" | "host";

export interface CallOptions {
  role: Role;
  /** The call as initiate, join or getCall answered it. */
  call: Call;
  /** The other participant's name, for the heading. */
  peerName: string;
  /** A signaling token for this participant (single use). */
  signalingToken: string;
  turn: TurnCredentials;
  /** The camera and microphone, already granted; stopped when the call ends. */
  localStream: MediaStream;
  /** The participant's Authorization header (guest token, or the host's current access token). */
  auth: Auth;
  /**
   * This page is done with the call: it ended (`how` "ended"; `call` as read at the end, or null
   * when it could not be read; the end view shows it), or it goes on without this page (`call`
   * null; the call view says so): another tab or window took it over (`how` "replaced", close code
   * 4009), or it could not be ended or rejoined from here (`how` "left": the host's session ended,
   * the token was refused; the call may still be going on, and a later sign-in or reload may get
   * back into it). Either way the camera is released and the page's other controls may come back.
   */
  onEnded(call: Call | null, how: "ended" | "left" | "replaced"): void;
}

const STATUS = {
  waitingForHost: "Waiting for the host…",
  waitingForGuest: "Waiting for the guest…",
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  ended: "Call ended",
} as const;

/** The longest wait between two attempts to reconnect the signaling socket. */
const MAX_RECONNECT_WAIT_MS = 5_000;
/**
 * How long a page whose socket dropped while it has no credentials (the host's session ended)
 * waits for the host to sign in again before it leaves the call: the server's grace (60 s from
 * when it notices the drop) is about over by then, and the camera should not stay on for a call
 * that this page cannot get back into.
 */
const SIGNED_OUT_GRACE_MS = 60_000;
/** How often the page looks for credentials again meanwhile (no request: the session is read). */
const SIGNED_OUT_POLL_MS = 1_000;
/** Statuses after which a call's amount is final. */
const SETTLED: ReadonlySet<Call["status"]> = new Set(["completed", "cancelled", "failed"]);
/** How long to wait for a call that is `ending` to settle (a hold may be retried for ~80 s). */
const SETTLE_POLLS = 90;

/** Why the call ended, as each side puts it (the code itself is kept in #end-reason's data-end-reason). */
const END_REASONS: Record<Schemas["EndReason"], Record<Role, string>> = {
  guest_ended: { guest: "You ended the call.", host: "The guest ended the call." },
  host_ended: { guest: "The host ended the call.", host: "You ended the call." },
  guest_cancelled: { guest: "You cancelled the call before the host joined.", host: "The guest cancelled the call before you joined." },
  host_declined: { guest: "The host declined the call.", host: "You declined the call." },
  host_no_show: { guest: "The host did not answer.", host: "You did not join the call in time." },
  connection_lost: bothSay("The connection was lost."),
  billing_failed: bothSay("A payment hold failed: the call ended with the last paid window."),
  link_unavailable: bothSay("The link stopped being available."),
  payment_declined: { guest: "Your card was declined.", host: "The guest's card was declined." },
};

function bothSay(text: string): Record<Role, string> {
  return { guest: text, host: text };
}

/** Shows the call view and runs the call until it ends. */
export function startCall(options: CallOptions): void {
  new CallView(options).start();
}

class CallView {
  private readonly ui = {
    section: byId("call", HTMLElement),
    heading: byId("call-heading", HTMLElement),
    live: byId("call-live", HTMLElement),
    status: byId("call-status", HTMLElement),
    remoteVideo: byId("remote-video", HTMLVideoElement),
    localVideo: byId("local-video", HTMLVideoElement),
    playRemote: byId("play-remote", HTMLButtonElement),
    mute: byId("mute", HTMLButtonElement),
    camera: byId("camera", HTMLButtonElement),
    hangup: byId("hangup", HTMLButtonElement),
    cost: byId("cost", HTMLElement),
    billing: byId("billing", HTMLElement),
    billingWarning: byId("billing-warning", HTMLElement),
    ended: byId("ended", HTMLElement),
  };
  private iceServers: RTCIceServer[];
  /** Removes this call's listeners from the controls (a host may take several calls in one visit). */
  private readonly listeners = new AbortController();
  /** One key for this call's hang-up: a retried hang-up is the same request. */
  private readonly endKey = idempotencyKey();

  private socket: SignalingSocket | null = null;
  private peer: PeerLink | null = null;
  /** When the call turned active (billing started), in this browser's clock; null before. */
  private activeSince: number | null = null;
  private costTimer: ReturnType<typeof setInterval> | undefined;
  private reconnectAttempt = 0;
  private reconnecting = false;
  private finished = false;

  constructor(private readonly options: CallOptions) {
    this.iceServers = iceServersOf(options.turn);
  }

  start(): void {
    const { ui, options } = this;
    this.resetView();
    ui.heading.textContent = `Call with ${options.peerName}`;
    ui.localVideo.srcObject = options.localStream;
    ui.camera.disabled = options.localStream.getVideoTracks().length === 0;
    ui.section.hidden = false;
    moveFocusTo(ui.heading);

    if (options.call.status === "active" && options.call.started_at) this.rejoinActive(Date.parse(options.call.started_at));
    this.setStatus(options.role === "guest" && this.activeSince === null ? STATUS.waitingForHost : STATUS.connecting);

    const { signal } = this.listeners;
    ui.mute.addEventListener("click", () => this.toggleMute(), { signal });
    ui.camera.addEventListener("click", () => this.toggleCamera(), { signal });
    ui.hangup.addEventListener("click", () => void this.hangUp(), { signal });
    ui.playRemote.addEventListener("click", () => this.playRemote(), { signal });
    this.connect(options.signalingToken);
  }

  /** The view as a new call starts: every trace of a previous call gone. */
  private resetView() {
    const { ui } = this;
    ui.ended.hidden = true;
    ui.live.hidden = false;
    ui.playRemote.hidden = true;
    ui.cost.textContent = `Running cost: ${formatCents(0)}`;
    ui.billing.textContent = "";
    ui.billingWarning.textContent = "";
    ui.billingWarning.hidden = true;
    setToggle(ui.mute, false, "Mute", "Unmute");
    setToggle(ui.camera, false, "Camera off", "Camera on");
    ui.hangup.disabled = false;
  }

  // --- signaling --------------------------------------------------------------------------

  private connect(token: string) {
    this.socket = new SignalingSocket(token, this.options.call.id, {
      onMessage: (message) => this.onMessage(message),
      onClose: (code) => this.onSocketClose(code),
    });
  }

  private onMessage(message: ServerMessage) {
    if (this.finished) return;
    switch (message.type) {
      case "welcome":
        this.reconnectAttempt = 0;
        // When the peer is there, `peer_joined` follows at once and starts the negotiation:
        // acting on `peer_present` too would negotiate twice.
        if (!message.peer_present) this.setStatus(this.waitingStatus());
        break;
      case "call_state":
        if (message.status === "active") this.markActive(Date.now());
        break;
      case "peer_joined":
        // A new connection of the other side (first join, reload, reconnect): whatever we had
        // with its previous connection is dead. The guest offers; the host waits for the offer.
        this.startPeer();
        break;
      case "peer_left":
        this.dropPeer();
        this.setStatus(STATUS.reconnecting);
        break;
      case "billing":
        this.showBilling(message);
        break;
      case "call_ended":
        void this.finish(null);
        break;
      case "error":
        showError(`The call's connection reported a problem: ${message.message}`);
        break;
      case "offer":
        if (this.options.role === "host") (this.peer ?? this.startPeer()).acceptOffer(message.sdp);
        break;
      case "answer":
        if (this.options.role === "guest") this.peer?.acceptAnswer(message.sdp);
        break;
      case "ice_candidate":
        this.peer?.addRemoteCandidate(message.candidate);
        break;
      case "ice_restart":
        if (this.options.role === "guest") this.peer?.restartIce();
        break;
    }
  }

  private waitingStatus() {
    if (this.activeSince !== null) return STATUS.reconnecting;
    return this.options.role === "guest" ? STATUS.waitingForHost : STATUS.waitingForGuest;
  }

  private onSocketClose(code: number) {
    this.socket = null;
    if (this.finished) return;
    if (code === CLOSE_CALL_ENDED) {
      void this.finish(null);
    } else if (code === CLOSE_REPLACED) {
      // The same participant connected again elsewhere (the call opened in another tab): that one
      // has the call now. This page lets go of it and gets its other controls back.
      this.leave("This call continues in another tab or window.", undefined, "replaced");
    } else {
      void this.reconnect();
    }
  }

  /**
   * Our socket dropped (network, server restart): a fresh token and a new socket, for as long as
   * the server says the call goes on. The server ends it 60 seconds after it noticed the drop,
   * which may be well after this page did (a dead connection is noticed by the ping, up to 40 s
   * later): no clock here decides that, the answer `call_not_active` does.
   */
  private async reconnect() {
    if (this.reconnecting) return;
    this.reconnecting = true;
    this.dropPeer();
    this.setStatus(STATUS.reconnecting);
    /** Since when this loop has found no credentials to reconnect with (null: it has them). */
    let signedOutSince: number | null = null;
    try {
      while (!this.finished) {
        const wait = signedOutSince === null ? Math.min(500 * 2 ** Math.min(this.reconnectAttempt++, 10), MAX_RECONNECT_WAIT_MS) : SIGNED_OUT_POLL_MS;
        await sleep(wait);
        if (this.finished) return;
        let headers: { Authorization: string };
        try {
          headers = await this.options.auth();
        } catch (err) {
          if (err instanceof SignedOutError) {
            // Signed out (the host's session ended): no request can get this page back in until the
            // host signs in again, which `auth` then says (it reads the current session). Waited
            // for, briefly: after SIGNED_OUT_GRACE_MS the page leaves the call and the camera goes
            // off, rather than saying "Reconnecting…" for a call it cannot reach.
            if (signedOutSince === null) {
              signedOutSince = Date.now();
              showError(
                "Your session has ended and the call's connection was lost. Sign in again within a minute to get back into the call; otherwise this page leaves it.",
              );
            } else if (Date.now() - signedOutSince >= SIGNED_OUT_GRACE_MS) {
              return this.leave(
                "You left the call: your session ended.",
                "Your session ended while the call's connection was lost, and you did not sign in again within a minute, so this page left the call. It ends by itself about a minute after the connection was lost, charged up to then.",
              );
            }
            continue;
          }
          // The session could not be refreshed just now (the network): said, and tried again.
          showError(err);
          continue;
        }
        if (signedOutSince !== null) {
          // Signed in again: the call goes on, and what was said about leaving it no longer holds.
          signedOutSince = null;
          clearError();
        }
        try {
          const { signaling_token, turn_credentials } = await request(
            api.POST("/v1/calls/{id}/signaling-token", { params: { path: { id: this.options.call.id } }, headers }),
          );
          // The next peer connection uses the fresh TURN credentials (the first expire after an hour).
          this.iceServers = iceServersOf(turn_credentials);
          if (!this.finished) this.connect(signaling_token);
          return; // if this socket fails too, onSocketClose comes back here
        } catch (err) {
          if (err instanceof ApiError && err.code === "call_not_active") return this.finish(null);
          // Refused for good (the token expired, the call is not ours): this page cannot get back
          // in. Network errors, 429 and 5xx are retried.
          if (isFinalError(err)) {
            return this.leave(
              "You left the call.",
              `${describeError(err)} The call could not be rejoined from this page: it ends about a minute after the connection was lost, charged up to then.`,
            );
          }
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  // --- WebRTC -----------------------------------------------------------------------------

  private startPeer(): PeerLink {
    this.dropPeer();
    const peer = new PeerLink(this.iceServers, this.options.localStream, {
      send: (message) => this.socket?.send(message),
      onRemoteStream: (stream) => this.showRemote(stream),
      onStateChange: (state) => this.onPeerState(state),
      onError: (err) => showError(`The video connection could not be set up: ${err instanceof Error ? err.message : String(err)}`),
      onOfferForNewConnection: (sdp, candidates) => {
        if (this.peer !== peer || this.finished) return;
        // The candidates that came with the offer go with it (they wait for it on the new connection).
        const next = this.startPeer();
        for (const candidate of candidates) next.addRemoteCandidate(candidate);
        next.acceptOffer(sdp);
      },
    });
    this.peer = peer;
    this.setStatus(STATUS.connecting);
    if (this.options.role === "guest") peer.offer();
    return peer;
  }

  private dropPeer() {
    this.peer?.close();
    this.peer = null;
    this.ui.remoteVideo.srcObject = null;
    this.ui.playRemote.hidden = true;
  }

  private onPeerState(state: RTCPeerConnectionState) {
    switch (state) {
      case "connected":
        this.setStatus(STATUS.connected);
        break;
      case "new":
      case "connecting":
        this.setStatus(STATUS.connecting);
        break;
      case "disconnected":
        // Often a passing network hiccup: ICE recovers by itself or turns to "failed".
        this.setStatus(STATUS.reconnecting);
        break;
      case "failed":
        // New ICE credentials and candidates: the guest offers again, the host asks it to.
        this.setStatus(STATUS.reconnecting);
        if (this.options.role === "guest") this.peer?.restartIce();
        else this.socket?.send({ type: "ice_restart" });
        break;
      case "closed":
        break;
    }
  }

  private showRemote(stream: MediaStream) {
    const video = this.ui.remoteVideo;
    if (video.srcObject === stream) return;
    video.srcObject = stream;
    // Browsers may refuse to play sound before the user interacted with the page (after a reload,
    // say): then a button starts it.
    video.play().catch(() => {
      this.ui.playRemote.hidden = false;
    });
  }

  private playRemote() {
    this.ui.remoteVideo
      .play()
      .then(() => {
        this.ui.playRemote.hidden = true;
      })
      .catch((err: unknown) => showError(err));
  }

  // --- billing ----------------------------------------------------------------------------

  /** The call is active (billing runs) since `since`: the running cost starts. */
  private markActive(since: number) {
    if (this.activeSince !== null) return;
    this.activeSince = since;
    this.renderCost();
    this.costTimer = setInterval(() => this.renderCost(), 1_000);
  }

  /**
   * Rejoining a call that is already running (after a reload): the cost counts from its start, and
   * the window in progress is paid (the call would have ended otherwise); the next `billing` frame
   * says more. The server's clock and this one may differ a little: the amount charged at the end
   * is the server's.
   */
  private rejoinActive(startedAt: number) {
    const now = Date.now();
    this.markActive(Math.min(now, startedAt));
    const windowMs = this.options.call.window_size_minutes * 60_000;
    const current = Math.floor(Math.max(0, now - startedAt) / windowMs) + 1;
    this.ui.billing.textContent = `Window ${current} held, paid until ${formatClock(startedAt + current * windowMs, { seconds: true })}`;
  }

  private renderCost() {
    if (this.activeSince === null) return;
    const cents = costOfSeconds((Date.now() - this.activeSince) / 1_000, this.options.call.rate_per_minute);
    this.ui.cost.textContent = `Running cost: ${formatCents(cents)}`;
  }

  private showBilling(event: Extract<ServerMessage, { type: "billing" }>) {
    if (event.status === "held") {
      this.markActive(Date.now());
      this.ui.billing.textContent = `Window ${event.window} held, paid until ${formatClock(event.held_until, { seconds: true })}`;
    } else {
      this.ui.billingWarning.hidden = false;
      this.ui.billingWarning.textContent = `A payment hold failed: the call will end at ${formatClock(event.held_until, { seconds: true })}.`;
    }
  }

  // --- controls ---------------------------------------------------------------------------

  private toggleMute() {
    const muted = this.ui.mute.getAttribute("aria-pressed") !== "true";
    for (const track of this.options.localStream.getAudioTracks()) track.enabled = !muted;
    setToggle(this.ui.mute, muted, "Mute", "Unmute");
  }

  private toggleCamera() {
    const off = this.ui.camera.getAttribute("aria-pressed") !== "true";
    // A disabled track sends black frames: the connection stays as it is.
    for (const track of this.options.localStream.getVideoTracks()) track.enabled = !off;
    setToggle(this.ui.camera, off, "Camera off", "Camera on");
  }

  private async hangUp() {
    await whileBusy(this.ui.hangup, async () => {
      let call: Call;
      try {
        ({ call } = await request(
          api.POST("/v1/calls/{id}/end", {
            params: { path: { id: this.options.call.id }, header: { "X-Idempotency-Key": this.endKey } },
            headers: await this.options.auth(),
          }),
        ));
      } catch (err) {
        // Over already (the other side hung up at the same moment): the end view says how.
        if (err instanceof ApiError && err.code === "call_not_active") return this.finish(null);
        if (!isUnauthenticated(err)) throw err;
        // Signed out (the host's session ended mid-call) or the token refused: the call cannot be
        // ended from here. Leaving it is what hanging up can still do: the server ends it once this
        // side has been gone for its grace, and bills it up to the moment this side left.
        return this.leave(
          "You left the call.",
          "Your session has ended, so the call could not be ended from here: it ends by itself about a minute from now, charged only up to the moment you left.",
        );
      }
      await this.finish(call);
    });
  }

  // --- the end ----------------------------------------------------------------------------

  /**
   * The call is over (we hung up, the other side did, or the server ended it): release the camera
   * and the connections, then show the amount once the call is settled.
   */
  private async finish(answer: Call | null) {
    if (this.finished) return;
    this.finished = true;
    this.releaseEverything();
    this.setStatus(STATUS.ended);
    // The videos and controls go at once; the amount follows once the call is settled.
    this.ui.live.hidden = true;
    const call = await settledCall(this.options.call.id, answer, this.options.auth);
    showEnd(call, this.options.role);
    this.options.onEnded(call, "ended");
  }

  /**
   * This page stops taking part in a call that goes on without it (another tab took it over, or it
   * could not be ended from here): the camera and the connections are released, the call view
   * says so, and the page gets its other controls back.
   */
  private leave(status: string, explanation?: string, how: "left" | "replaced" = "left") {
    if (this.finished) return;
    this.finished = true;
    this.releaseEverything();
    this.ui.live.hidden = true;
    this.setStatus(status);
    if (explanation) showError(explanation);
    moveFocusTo(this.ui.heading);
    this.options.onEnded(null, how);
  }

  private releaseEverything() {
    clearInterval(this.costTimer);
    this.listeners.abort();
    this.socket?.close();
    this.socket = null;
    this.dropPeer();
    stopLocalMedia(this.options.localStream);
    this.ui.localVideo.srcObject = null;
  }

  private setStatus(text: string) {
    if (this.ui.status.textContent !== text) this.ui.status.textContent = text;
  }
}

/** A toggle button: aria-pressed, and its text saying what a press does next. */
function setToggle(button: HTMLButtonElement, pressed: boolean, label: string, pressedLabel: string) {
  button.setAttribute("aria-pressed", String(pressed));
  button.textContent = pressed ? pressedLabel : label;
}

// --- the end view (also for a call ended without its call view: guest.ts, "End that call") ------

/**
 * The call as read once its amount is final (an `ending` call is still being captured), or as
 * last read when it does not settle in time or cannot be read any more (that error is shown);
 * null when it could not be read at all.
 */
export async function settledCall(id: string, answer: Call | null, auth: Auth): Promise<Call | null> {
  let call = answer;
  try {
    for (let poll = 0; !(call && SETTLED.has(call.status)) && poll <= SETTLE_POLLS; poll++) {
      if (call) await sleep(1_000);
      ({ call } = await request(api.GET("/v1/calls/{id}", { params: { path: { id } }, headers: await auth() })));
    }
  } catch (err) {
    showError(err);
  }
  return call;
}

/**
 * Shows the end view (#ended) in place of the call view: the amount, and why the call ended. An
 * amount that is not final yet (the call still `ending`, or `active` as last read) says so.
 */
export function showEnd(call: Call | null, role: Role): void {
  const label = byId("amount-label", HTMLElement);
  const amount = byId("amount-charged", HTMLElement);
  const note = byId("amount-note", HTMLElement);
  const reason = byId("end-reason", HTMLElement);
  // #call-status says "Call ended" too, for the record, under the hidden call view.
  byId("call", HTMLElement).hidden = true;
  label.textContent = "Amount charged:";
  note.textContent = "";
  if (!call) {
    amount.textContent = "unknown";
  } else {
    amount.textContent = formatAmount(call.amount_charged);
    if (!SETTLED.has(call.status)) {
      label.textContent = "Amount:";
      note.textContent = " so far; the final amount is being settled.";
    }
  }
  reason.textContent = call?.end_reason ? END_REASONS[call.end_reason][role] : "";
  if (call?.end_reason) reason.dataset.endReason = call.end_reason;
  else delete reason.dataset.endReason;
  byId("ended", HTMLElement).hidden = false;
  moveFocusTo(byId("ended-heading", HTMLElement));
}
