// The guest page, /c/{short_code}: the guest gives a name and a card and starts the call (a guest
// token, then initiate, which holds the first window), then the call view runs it. The call is
// remembered in sessionStorage, so that reloading the page mid-call rejoins it (the server keeps a
// dropped participant's place for 60 seconds).
import { api, ApiError, bearer, idempotencyKey, isFinalError, request, type Call, type CallSession, type Schemas, type TurnCredentials } from "./api.ts";
import { settledCall, showEnd, startCall } from "./call.ts";
import { byId, moveFocusTo, readPageData, showError, whileBusy } from "./dom.ts";
import { openLocalMedia, stopLocalMedia } from "./media.ts";
import type { GuestPageData } from "./page-data.ts";
import { mountStripeCard } from "./stripe.ts";

const { link, payments } = readPageData<GuestPageData>();

// --- the call kept across reloads -------------------------------------------------------------

const STORAGE_KEY = "vidivo:guest-call";

/** What a reload needs to rejoin: sessionStorage is per tab and cleared when the tab closes. */
interface StoredCall {
  short_code: string;
  call_id: string;
  /** The guest's access token (24 hours): getCall and a fresh signaling token (with fresh TURN credentials). */
  guest_token: string;
}

function storedCall(): StoredCall | null {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as StoredCall | null;
    return stored?.short_code === link.short_code ? stored : null;
  } catch {
    return null;
  }
}

function forgetCall() {
  sessionStorage.removeItem(STORAGE_KEY);
}

// --- the card -----------------------------------------------------------------------------------

/** Where the payment method comes from: the test cards' select, or Stripe's Payment Element. */
interface CardInput {
  paymentMethod(): Promise<string>;
  /** A 3-D Secure challenge on the first hold (Stripe only). */
  authenticate?(clientSecret: string): Promise<void>;
  /** The card given last is not to be used again (declined): the next attempt asks afresh (Stripe only). */
  discard?(): Promise<void>;
}

/**
 * The guest token, made once and reused by every attempt of this visit (a declined card, a retry);
 * made again when the API refuses it (it expired: 401).
 */
let guestToken: Promise<string> | null = null;

function guest(): Promise<string> {
  guestToken ??= request(api.POST("/v1/auth/guest", { body: {} })).then(
    (session) => session.guest_token,
    (err: unknown) => {
      guestToken = null; // not kept: the next attempt asks again
      throw err;
    },
  );
  return guestToken;
}

async function cardInput(): Promise<CardInput> {
  if (payments?.provider === "stripe") return mountStripeCard(byId("payment-element", HTMLElement), guest);
  const select = byId("card", HTMLSelectElement);
  return { paymentMethod: async () => select.value };
}

// --- starting a call ----------------------------------------------------------------------------

/**
 * The X-Idempotency-Key of the last initiate, kept while its outcome is not final for that key
 * (docs/api.md, "Idempotency keys"): pressing "Start call" again with the same details then
 * cannot place a second hold.
 */
let pendingInitiate: { body: string; key: string } | null = null;

type InitiateBody = Schemas["InitiateCallRequest"];

async function initiate(token: string, body: InitiateBody): Promise<CallSession> {
  const signature = JSON.stringify(body);
  const key = pendingInitiate?.body === signature ? pendingInitiate.key : idempotencyKey();
  pendingInitiate = { body: signature, key };
  try {
    const session = await request(api.POST("/v1/calls/initiate", { params: { header: { "X-Idempotency-Key": key } }, headers: bearer(token), body }));
    pendingInitiate = null;
    return session;
  } catch (err) {
    if (answeredForGood(err)) pendingInitiate = null;
    throw err;
  }
}

/**
 * Whether a failed initiate's answer is final for its key. Not so: no answer (status 0: the hold
 * may have been placed), a 5xx (the key is released, the outcome unknown), 429 (not run), and
 * 409 `conflict` (the first request with this key is still running): a retry must carry the same
 * key, to get that request's outcome rather than a second hold.
 */
function answeredForGood(err: unknown): boolean {
  return isFinalError(err) && err.code !== "conflict";
}

/** The first hold needs 3-D Secure: what Stripe.js needs to authenticate it. */
function authenticationRequired(err: unknown): { clientSecret: string; paymentIntentId: string } | null {
  if (!(err instanceof ApiError) || err.details?.decline_code !== "authentication_required") return null;
  const { client_secret: clientSecret, payment_intent_id: paymentIntentId } = err.details;
  return clientSecret && paymentIntentId ? { clientSecret, paymentIntentId } : null;
}

async function startNewCall(card: CardInput) {
  const name = byId("guest-name", HTMLInputElement).value.trim();
  if (!name) throw new Error("Enter your name.");
  // The camera first: a refused permission must not have placed a hold.
  const localStream = await openLocalMedia();
  try {
    const token = await guest();
    const body: InitiateBody = { short_code: link.short_code, payment_method_id: await card.paymentMethod(), guest_name: name };
    let session: CallSession;
    try {
      session = await initiate(token, body);
    } catch (err) {
      const challenge = authenticationRequired(err);
      if (!challenge || !card.authenticate) throw err;
      // 3-D Secure: the guest authenticates the first hold, then initiate adopts it (a new request).
      await card.authenticate(challenge.clientSecret);
      session = await initiate(token, { ...body, payment_intent_id: challenge.paymentIntentId });
    }
    const stored: StoredCall = { short_code: link.short_code, call_id: session.call.id, guest_token: token };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
    showCall(stored, session.call, session.signaling_token, session.turn_credentials, localStream);
  } catch (err) {
    stopLocalMedia(localStream);
    await afterFailedStart(err, card);
    throw err;
  }
}

/** What a failed start leaves for the next attempt. */
async function afterFailedStart(err: unknown, card: CardInput) {
  if (!(err instanceof ApiError)) return;
  const expired = err.status === 401;
  // The guest token expired: the next attempt is a new guest (and a card saved for this one is
  // not theirs).
  if (expired) guestToken = null;
  const declined = err.code === "payment_declined" && !authenticationRequired(err);
  if ((expired || declined) && card.discard) {
    try {
      await card.discard();
    } catch {
      // The card field is renewed at the next attempt; the decline is what to show now.
    }
  }
}

function showCall(stored: StoredCall, call: Call, signalingToken: string, turn: TurnCredentials, localStream: MediaStream) {
  for (const id of ["start-section", "unavailable", "rejoin"]) document.getElementById(id)?.setAttribute("hidden", "");
  startCall({
    role: "guest",
    call,
    peerName: link.host.display_name,
    signalingToken,
    turn,
    localStream,
    auth: async () => bearer(stored.guest_token),
    onEnded: forgetCall,
  });
}

// --- rejoining after a reload -------------------------------------------------------------------

/**
 * Back into the call of this tab: "rejoined", or "gone" when there is no call to rejoin any more
 * (it ended, or its token expired). Throws when it could not be rejoined for a passing reason (the
 * network, the camera refused): the call may still be going on.
 */
async function rejoin(stored: StoredCall): Promise<"rejoined" | "gone"> {
  const auth = { headers: bearer(stored.guest_token), params: { path: { id: stored.call_id } } };
  let call: Call;
  try {
    ({ call } = await request(api.GET("/v1/calls/{id}", auth)));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 404)) return gone();
    throw err;
  }
  if (call.status !== "waiting" && call.status !== "active") return gone();
  const localStream = await openLocalMedia();
  try {
    const { signaling_token, turn_credentials } = await request(api.POST("/v1/calls/{id}/signaling-token", auth));
    // The page of a link that became unavailable meanwhile (a single-use link, say) names the call.
    const title = document.querySelector("h1");
    if (title) title.textContent = `Call ${link.host.display_name}`;
    showCall(stored, call, signaling_token, turn_credentials, localStream);
    return "rejoined";
  } catch (err) {
    stopLocalMedia(localStream);
    if (err instanceof ApiError && err.code === "call_not_active") return gone();
    throw err;
  }
}

function gone(): "gone" {
  forgetCall();
  return "gone";
}

/**
 * The call of this tab could not be rejoined just now, and may still be going on: the page offers
 * to try again or to end it, and no new call meanwhile (a second call would be a second hold).
 */
function offerRejoin(stored: StoredCall) {
  const section = byId("rejoin", HTMLElement);
  const rejoinButton = byId("rejoin-call", HTMLButtonElement);
  const endButton = byId("end-stored-call", HTMLButtonElement);
  /** One key for "End that call": pressed again after a failure, it is the same request. */
  const endKey = idempotencyKey();
  const listeners = new AbortController();
  section.hidden = false;
  moveFocusTo(byId("rejoin-heading", HTMLElement));

  /** Runs one of the two actions, the other one unavailable meanwhile. */
  const act = (button: HTMLButtonElement, other: HTMLButtonElement, work: () => Promise<"rejoined" | "gone" | "ended">) => {
    other.disabled = true;
    void whileBusy(button, async () => {
      try {
        const outcome = await work();
        listeners.abort();
        section.hidden = true;
        if (outcome !== "gone") return; // the call view, or the end view, has the focus now
        showError("That call is over.");
        await offerNewCall();
        const title = document.querySelector("h1");
        if (title) moveFocusTo(title);
      } finally {
        other.disabled = false;
      }
    });
  };
  rejoinButton.addEventListener("click", () => act(rejoinButton, endButton, () => rejoin(stored)), { signal: listeners.signal });
  endButton.addEventListener("click", () => act(endButton, rejoinButton, () => endStoredCall(stored, endKey)), { signal: listeners.signal });
}

/** Ends the call of this tab without rejoining it, and shows its end (the amount charged). */
async function endStoredCall(stored: StoredCall, key: string): Promise<"ended" | "gone"> {
  const auth = async () => bearer(stored.guest_token);
  let answer: Call | null = null;
  try {
    ({ call: answer } = await request(
      api.POST("/v1/calls/{id}/end", { params: { path: { id: stored.call_id }, header: { "X-Idempotency-Key": key } }, headers: await auth() }),
    ));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 404)) return gone();
    // Over already (it ended while the page was away): its end is shown all the same.
    if (!(err instanceof ApiError && err.code === "call_not_active")) throw err;
  }
  forgetCall();
  showEnd(await settledCall(stored.call_id, answer, auth), "guest");
  return "ended";
}

// --- the page -------------------------------------------------------------------------------------

let startFormReady = false;

/** The start form, ready to start a call (the unavailable page, which has none, shows its reason). */
async function offerNewCall() {
  document.getElementById("start-section")?.removeAttribute("hidden");
  const form = document.getElementById("start-form");
  if (!(form instanceof HTMLFormElement) || startFormReady) return;
  startFormReady = true;
  const button = byId("start", HTMLButtonElement);
  let card: CardInput;
  try {
    card = await cardInput();
  } catch (err) {
    showError(err);
    button.disabled = true;
    return;
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void whileBusy(button, () => startNewCall(card));
  });
}

async function main() {
  const stored = storedCall();
  if (stored) {
    // No start form while this tab's call may be going on: starting another would hold twice.
    document.getElementById("start-section")?.setAttribute("hidden", "");
    try {
      if ((await rejoin(stored)) === "rejoined") return;
    } catch (err) {
      showError(err);
      offerRejoin(stored);
      return;
    }
  }
  await offerNewCall();
}

void main();
