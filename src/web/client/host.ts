// The host console, /host: sign in, then the waiting calls (live), the host's links and earnings;
// joining a waiting call opens the same call view as the guest's.
import { api, ApiError, isFinalError, isUnauthenticated, request, SignedOutError, type Call } from "./api.ts";
import { startCall } from "./call.ts";
import { EarningsSection } from "./earnings.ts";
import { followNotifications, type Notification } from "./events.ts";
import { announce, byId, clearError, h, moveFocusTo, showError, whileBusy } from "./dom.ts";
import { LinksSection } from "./links.ts";
import { openLocalMedia, stopLocalMedia } from "./media.ts";
import { HostSession } from "./session.ts";
import { WaitingCalls } from "./waiting.ts";

const signInSection = byId("sign-in", HTMLElement);
const accountBar = byId("account", HTMLElement);
const consoleSection = byId("console", HTMLElement);
const signOutButton = byId("sign-out", HTMLButtonElement);

/** The signed-in session; null while signed out. */
let session: HostSession | null = null;
/** Stops the live notifications (on sign-out). */
let stopNotifications: AbortController | null = null;
/** Where the host is with calls: one at a time, from the first step of joining to the end. */
let callState: "idle" | "joining" | "in-call" = "idle";

/**
 * Every request of the console carries the current session's access token. The call view asks
 * here too: signed in again after the session ended mid-call, the call goes on with the new one.
 */
async function auth() {
  const current = session;
  if (!current) throw new SignedOutError();
  try {
    return await current.auth();
  } catch (err) {
    // The session ended in this very refresh: the sentence shown then says what now, and stays
    // (whoever asked shows this error too).
    if (session !== current && isUnauthenticated(err)) throw new SignedOutError(sessionEndedMessage());
    throw err;
  }
}

const links = new LinksSection(auth);
const earnings = new EarningsSection(auth);
const waiting = new WaitingCalls(auth, { join });

// --- signing in and out -------------------------------------------------------------------------

async function enterConsole(signedIn: HostSession, displayName: string) {
  session = signedIn;
  session.onExpired = onSessionExpired;
  try {
    // The links first: an account that is not a host learns it here (403), with the API's words.
    await links.load();
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) await signOut();
    throw err;
  }
  byId("signed-in-as", HTMLElement).textContent = `Signed in as ${displayName}`;
  signInSection.hidden = true;
  accountBar.hidden = false;
  consoleSection.hidden = false;
  moveFocusTo(byId("waiting-heading", HTMLElement));

  stopNotifications = new AbortController();
  void followNotifications(auth, { onOpen: () => void refresh(() => waiting.load()), onNotification, onFatal: showError }, stopNotifications.signal);
  // Back into the call this tab was in (a reload, or signing in again after the session ended or
  // the page left the call for want of one), unless the page is in it already (the call view
  // outlives the console). Started first: the waiting calls' "Join" stay disabled until it knows.
  const rejoining = callState === "idle" ? refresh(rejoin) : Promise.resolve();
  await Promise.all([refresh(() => waiting.load()), refresh(() => earnings.load()), rejoining]);
}

/** Loads one part of the console; a failure is shown without stopping the others. */
async function refresh(load: () => Promise<void>) {
  try {
    await load();
  } catch (err) {
    showError(err);
  }
}

function leaveConsole(message: string | null) {
  stopNotifications?.abort();
  stopNotifications = null;
  session = null;
  links.clear();
  waiting.clear();
  earnings.clear();
  accountBar.hidden = true;
  consoleSection.hidden = true;
  rejoinOffer.hide();
  signInSection.hidden = false;
  if (message) showError(message);
  if (callState === "idle") {
    // What the last call left on the page goes with the console. (A call in progress stays: below.)
    byId("call", HTMLElement).hidden = true;
    byId("ended", HTMLElement).hidden = true;
    moveFocusTo(byId("email", HTMLInputElement));
  }
}

/**
 * The session could not be refreshed (revoked: signed out elsewhere, or the refresh token was
 * used twice, as a duplicated tab does with its copy of sessionStorage). The console goes; a
 * call in progress does not. The guest is paying for it and talking to the host: cutting it off
 * over a session would be the worst surprise, and it could not even be ended properly without a
 * token. So the call view (outside the console, src/web/pages.ts) stays with its camera and
 * connections, and the focus stays where it is; signing in again gives the call back its token
 * (`auth` reads the current session). Hanging up meanwhile leaves the call, which the server then
 * ends after its grace, billed up to the moment the host left (call.ts).
 */
function onSessionExpired() {
  leaveConsole(sessionEndedMessage());
}

/**
 * What the host is told when the session ends. Only a call the host is in goes on without the
 * session; one being joined is not joined (the join needs a token: it fails and the camera goes
 * off), and should its request have gone through just before, join() says the call goes on once
 * the call view is there.
 */
function sessionEndedMessage() {
  return callState === "in-call"
    ? "Your session has ended, but your call goes on. Sign in again to get the console back and to end the call as usual; hanging up now only leaves it, and it ends for the guest about a minute later."
    : "Your session has ended. Please sign in again.";
}

async function signOut() {
  const ending = session;
  leaveConsole(null);
  // Signed out here whatever happens; the server is told so that the refresh token stops working.
  await ending?.signOut();
}

byId("sign-in-form", HTMLFormElement).addEventListener("submit", (event) => {
  event.preventDefault();
  const email = byId("email", HTMLInputElement).value;
  const password = byId("password", HTMLInputElement);
  void whileBusy(byId("sign-in-button", HTMLButtonElement), async () => {
    const signedIn = await HostSession.signIn(email, password.value);
    password.value = "";
    await enterConsole(signedIn.session, signedIn.user.display_name);
  });
});

signOutButton.addEventListener("click", () => void whileBusy(signOutButton, signOut));

// --- live notifications -------------------------------------------------------------------------

function onNotification(notification: Notification) {
  switch (notification.type) {
    case "call_incoming": {
      const { data } = notification;
      waiting.add({ id: data.call_id, guestName: data.guest_display_name, ratePerMinute: data.rate_per_minute, since: notification.created_at });
      announce(`${data.guest_display_name} is waiting for you to join the call.`);
      break;
    }
    case "call_missed":
    case "call_ended":
      waiting.remove(notification.data.call_id);
      break;
    case "earning_recorded":
      void refresh(() => earnings.load());
      break;
    default:
      // Notifications about payouts, refunds… are not part of this console.
      break;
  }
}

// --- joining a call -----------------------------------------------------------------------------

/**
 * The call this tab is in, kept so that a reload rejoins it (as the guest page does). Kept until
 * the call is known to be over: an active call is not in the waiting list, so this id is the
 * host's only way back into it.
 */
const CALL_KEY = "vidivo:host-call";

function forgetHostCall() {
  sessionStorage.removeItem(CALL_KEY);
  rejoinOffer.hide();
}

/** Joins a waiting call (or rejoins an active one: join works until the call has ended). */
async function join(call: { id: string }) {
  if (callState === "joining") throw new Error("Another call is being joined.");
  if (callState === "in-call") throw new Error("Hang up the current call first.");
  // No second join from here on (the camera prompt and the request take time).
  setCallState("joining");
  let localStream: MediaStream | null = null;
  try {
    // The camera first: joining starts the billing as soon as both are connected.
    localStream = await openLocalMedia();
    const joined = await request(api.POST("/v1/calls/{id}/join", { params: { path: { id: call.id } }, headers: await auth() }));
    waiting.remove(call.id);
    // This is the call of this tab now (a call that could not be rejoined is let go: the host chose
    // another one).
    rejoinOffer.hide();
    sessionStorage.setItem(CALL_KEY, call.id);
    setCallState("in-call");
    startCall({
      role: "host",
      call: joined.call,
      peerName: joined.call.guest.display_name,
      signalingToken: joined.signaling_token,
      turn: joined.turn_credentials,
      localStream,
      auth,
      // Ended, taken over by another tab (4009), or left (for want of a session, or a token
      // refused): either way this console is free again. A call that was only left may still be
      // going on (for its grace, some 40 s more after the page's minute): its id stays, and the
      // next sign-in (enterConsole → rejoin) gets back into it or learns it is over.
      onEnded: (_call, how) => {
        if (how !== "left") sessionStorage.removeItem(CALL_KEY);
        rejoinOffer.hide();
        setCallState("idle");
        if (session) void refresh(() => earnings.load());
      },
    });
    // The session ended while the join was under way, after its request had gone through: the call
    // goes on without the console, as it does for a session ending mid-call.
    if (!session) showError(sessionEndedMessage());
  } catch (err) {
    stopLocalMedia(localStream);
    setCallState("idle");
    // The guest left meanwhile: nothing to join any more.
    if (err instanceof ApiError && err.code === "call_not_active") waiting.remove(call.id);
    throw err;
  }
}

/**
 * Back into the call this tab was in (after a reload), while it goes on (60 s of grace). The stored
 * id is forgotten only once the call is known to be over (or not this host's): when the call could
 * not be read or joined for a passing reason (the network, the camera), the console offers "Rejoin
 * the call" instead, as the call is in no list the console shows.
 */
async function rejoin() {
  const id = sessionStorage.getItem(CALL_KEY);
  if (!id || callState !== "idle") return;
  // No other call is joined while this one is read: its id would take this one's place (and the
  // join below would be refused, for a call in progress).
  setCallState("joining");
  let call: Call;
  try {
    ({ call } = await request(api.GET("/v1/calls/{id}", { params: { path: { id } }, headers: await auth() })));
  } catch (err) {
    setCallState("idle");
    // 404 (no such call), 403 (not this host's): nothing to rejoin. Signed out, the network, a
    // 5xx: it may still be going on.
    if (isFinalError(err) && !isUnauthenticated(err)) return forgetHostCall();
    offerRejoin();
    throw err;
  }
  setCallState("idle");
  // (Nothing may join meanwhile, but should the call kept have changed, it is not this read's.)
  if (callState !== "idle" || sessionStorage.getItem(CALL_KEY) !== id) return;
  if (call.status !== "waiting" && call.status !== "active") return forgetHostCall();
  try {
    await join(call);
  } catch (err) {
    // Over, or not this host's: nothing to rejoin.
    if (isFinalError(err) && !isUnauthenticated(err)) return forgetHostCall();
    // Only a passing failure keeps the way back (a refusal of join() itself is no such thing).
    if (passingFailure(err)) offerRejoin();
    throw err;
  }
}

/** A failure that trying again may get past: the network, a 5xx or 429, the camera, signing in. */
function passingFailure(err: unknown): boolean {
  if (err instanceof ApiError) return !isFinalError(err) || isUnauthenticated(err);
  return err instanceof SignedOutError || err instanceof DOMException;
}

/**
 * Offers "Rejoin the call", in the console: not while signed out (the console is hidden then; the
 * next sign-in tries to rejoin by itself).
 */
function offerRejoin() {
  if (session) rejoinOffer.show();
}

/**
 * "Your call may still be going on" with "Rejoin the call", at the top of the console: made here
 * (the page has no place for it), shown while a call of this tab could not be rejoined.
 */
class RejoinOffer {
  private readonly heading = h("h2", { id: "host-rejoin-heading", tabindex: "-1" }, "Your call may still be going on");
  private readonly button = h("button", { type: "button", class: "primary" }, "Rejoin the call");
  private readonly section = h(
    "section",
    { id: "host-rejoin", class: "card", "aria-labelledby": "host-rejoin-heading" },
    this.heading,
    h("p", {}, "The call you were in could not be rejoined just now. It goes on for about a minute after you lost it."),
    h("div", { class: "actions" }, this.button),
  );

  constructor() {
    this.section.hidden = true;
    consoleSection.prepend(this.section);
    this.button.addEventListener("click", () => {
      void whileBusy(this.button, async () => {
        await rejoin();
        if (!sessionStorage.getItem(CALL_KEY)) {
          // Over meanwhile (or not this host's any more): nothing to rejoin.
          showError("That call is over.");
          moveFocusTo(byId("waiting-heading", HTMLElement));
        }
      });
    });
  }

  show() {
    const wasHidden = this.section.hidden;
    this.section.hidden = false;
    this.setJoinable(callState === "idle");
    if (wasHidden) moveFocusTo(this.heading);
  }

  hide() {
    this.section.hidden = true;
  }

  setJoinable(joinable: boolean) {
    this.button.disabled = !joinable;
  }
}

const rejoinOffer = new RejoinOffer();

function setCallState(state: typeof callState) {
  callState = state;
  waiting.setJoinable(state === "idle");
  rejoinOffer.setJoinable(state === "idle");
  // Signing out would leave the call running without its host's controls.
  signOutButton.disabled = state !== "idle";
}

// --- the page -----------------------------------------------------------------------------------

async function main() {
  let restored: HostSession | null;
  try {
    restored = await HostSession.restore();
  } catch (err) {
    showError(err instanceof ApiError && err.status === 401 ? "Your session has ended. Please sign in again." : err);
    return;
  }
  if (!restored) return;
  signInSection.hidden = true;
  try {
    const me = await request(api.GET("/v1/users/me", { headers: await restored.auth() }));
    clearError();
    await enterConsole(restored, me.display_name);
  } catch (err) {
    leaveConsole(null);
    showError(err);
    return;
  }
}

void main();
