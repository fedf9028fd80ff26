// The host console, /host: sign in, then the waiting calls (live), the host's links and earnings;
// joining a waiting call opens the same call view as the guest's.
import { api, ApiError, isUnauthenticated, request, SignedOutError } from "./api.ts";
import { startCall } from "./call.ts";
import { EarningsSection } from "./earnings.ts";
import { followNotifications, type Notification } from "./events.ts";
import { announce, byId, clearError, moveFocusTo, showError, whileBusy } from "./dom.ts";
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
  await Promise.all([refresh(() => waiting.load()), refresh(() => earnings.load())]);
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

function sessionEndedMessage() {
  return callState === "idle"
    ? "Your session has ended. Please sign in again."
    : "Your session has ended, but your call goes on. Sign in again to get the console back and to end the call as usual; hanging up now only leaves it, and it ends for the guest about a minute later.";
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

/** The call this tab is in, kept so that a reload rejoins it (as the guest page does). */
const CALL_KEY = "vidivo:host-call";

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
      // Ended, or taken over by another tab (4009): either way this console is free again.
      onEnded: () => {
        sessionStorage.removeItem(CALL_KEY);
        setCallState("idle");
        if (session) void refresh(() => earnings.load());
      },
    });
  } catch (err) {
    stopLocalMedia(localStream);
    setCallState("idle");
    // The guest left meanwhile: nothing to join any more.
    if (err instanceof ApiError && err.code === "call_not_active") waiting.remove(call.id);
    throw err;
  }
}

/** After a reload: back into the call this tab was in, while it goes on (60 s of grace). */
async function rejoin() {
  const id = sessionStorage.getItem(CALL_KEY);
  if (!id) return;
  sessionStorage.removeItem(CALL_KEY);
  const { call } = await request(api.GET("/v1/calls/{id}", { params: { path: { id } }, headers: await auth() }));
  if (call.status === "waiting" || call.status === "active") await join(call);
}

function setCallState(state: typeof callState) {
  callState = state;
  waiting.setJoinable(state === "idle");
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
  await refresh(rejoin);
}

void main();
