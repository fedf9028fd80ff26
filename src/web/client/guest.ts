// The guest page, /c/{short_code}: the guest gives a name and a card and starts the call (a guest
// token, then initiate, which holds the first window), then the call view runs it. The call is
// remembered in sessionStorage, so that reloading the page mid-call rejoins it (the server keeps a
// dropped participant's place for 60 seconds).
import { api, ApiError, bearer, idempotencyKey, request, type CallSession, type Schemas, type TurnCredentials } from "./api.ts";
import { startCall } from "./call.ts";
import { byId, readPageData, showError, whileBusy } from "./dom.ts";
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
}

/** The guest token, made once and reused by every attempt of this visit (a declined card, a retry). */
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
  if (payments?.provider === "stripe") return mountStripeCard(byId("payment-element", HTMLElement), await guest());
  const select = byId("card", HTMLSelectElement);
  return { paymentMethod: async () => select.value };
}

// --- starting a call ----------------------------------------------------------------------------

/**
 * The X-Idempotency-Key of the last initiate, kept while the outcome is unknown (no answer, or a
 * 5xx): pressing "Start call" again with the same details then cannot place a second hold.
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
    if (err instanceof ApiError && err.status > 0 && err.status < 500) pendingInitiate = null;
    throw err;
  }
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
    throw err;
  }
}

function showCall(stored: StoredCall, call: CallSession["call"], signalingToken: string, turn: TurnCredentials, localStream: MediaStream) {
  for (const id of ["start-section", "unavailable"]) document.getElementById(id)?.setAttribute("hidden", "");
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

/** Whether the call of this tab was rejoined (it was still waiting or active). */
async function rejoin(stored: StoredCall): Promise<boolean> {
  const auth = { headers: bearer(stored.guest_token), params: { path: { id: stored.call_id } } };
  let call: CallSession["call"];
  try {
    ({ call } = await request(api.GET("/v1/calls/{id}", auth)));
  } catch (err) {
    // The token expired or the call is gone: nothing to rejoin. Anything else (the network) is
    // worth saying, and the call is kept for another reload.
    if (err instanceof ApiError && (err.status === 401 || err.status === 404)) forgetCall();
    else showError(err);
    return false;
  }
  if (call.status !== "waiting" && call.status !== "active") {
    forgetCall();
    return false;
  }
  const localStream = await openLocalMedia();
  try {
    const { signaling_token, turn_credentials } = await request(api.POST("/v1/calls/{id}/signaling-token", auth));
    // The page of a link that became unavailable meanwhile (a single-use link, say) names the call.
    const title = document.querySelector("h1");
    if (title) title.textContent = `Call ${link.host.display_name}`;
    showCall(stored, call, signaling_token, turn_credentials, localStream);
    return true;
  } catch (err) {
    stopLocalMedia(localStream);
    if (err instanceof ApiError && err.code === "call_not_active") forgetCall();
    throw err;
  }
}

// --- the page -------------------------------------------------------------------------------------

async function main() {
  const stored = storedCall();
  if (stored) {
    try {
      if (await rejoin(stored)) return;
    } catch (err) {
      showError(err);
    }
  }
  // The unavailable page (no form) is only there for a call to rejoin.
  const form = document.getElementById("start-form");
  if (!(form instanceof HTMLFormElement)) return;
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

void main();
