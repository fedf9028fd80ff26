// The guest page, /c/{short_code}: the guest gives a name and a card and starts the call (a guest
// token, then initiate, which holds the first window), then the call view runs it. The call is
// remembered in sessionStorage, so that reloading the page mid-call rejoins it (the server keeps a
// dropped participant's place for 60 seconds).
import { api, ApiError, bearer, idempotencyKey, isFinalError, request, type Call, type CallSession, type Schemas, type TurnCredentials } from "./api.ts";
import { settledCall, showEnd, startCall } from "./call.ts";
import { byId, clearError, h, moveFocusTo, readPageData, showError, whileBusy } from "./dom.ts";
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

type InitiateBody = Schemas["InitiateCallRequest"];

/**
 * An initiate whose answer is not final yet (docs/api.md, "Idempotency keys"): its
 * X-Idempotency-Key, its body and the guest token it was sent with. Written to sessionStorage
 * before the request is sent, and sent again exactly as it is (on "Start call", and on a reload)
 * until it gets a final answer: a call, or a refusal that is final for its key (a declined card,
 * say). So no retry can place a second hold: not one after a network error, not one after a reload
 * (which would otherwise be a new guest with a new key), not a 3-D Secure follow-up (its
 * payment_intent_id is part of the body kept).
 */
interface PendingInitiate {
  short_code: string;
  key: string;
  guest_token: string;
  body: InitiateBody;
}

const PENDING_KEY = "vidivo:guest-initiate";

function pendingInitiate(): PendingInitiate | null {
  try {
    const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? "null") as PendingInitiate | null;
    return pending?.short_code === link.short_code ? pending : null;
  } catch {
    return null;
  }
}

/** A new initiate, kept before it is sent (a reload while it runs must find it). */
function newInitiate(guestTokenUsed: string, body: InitiateBody): PendingInitiate {
  const pending: PendingInitiate = { short_code: link.short_code, key: idempotencyKey(), guest_token: guestTokenUsed, body };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  return pending;
}

function forgetInitiate() {
  sessionStorage.removeItem(PENDING_KEY);
}

/** Sends the pending initiate as it was kept; it is forgotten once its answer is final. */
async function sendInitiate(pending: PendingInitiate): Promise<CallSession> {
  try {
    return await request(
      api.POST("/v1/calls/initiate", { params: { header: { "X-Idempotency-Key": pending.key } }, headers: bearer(pending.guest_token), body: pending.body }),
    );
  } catch (err) {
    if (answeredForGood(err)) forgetInitiate();
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

/**
 * Starts the call: the initiate still pending, as it was kept; or a new one with the form's name
 * and card.
 */
async function startNewCall(card: CardInput) {
  let pending = pendingInitiate();
  // (A pending initiate has its name; the page of an unavailable link has no name field.)
  const name = pending ? "" : byId("guest-name", HTMLInputElement).value.trim();
  if (!pending && !name) throw new Error("Enter your name.");
  // The camera first: a refused permission must not have placed a hold.
  const localStream = await openLocalMedia();
  try {
    if (!pending) {
      const token = await guest();
      const body: InitiateBody = { short_code: link.short_code, payment_method_id: await card.paymentMethod(), guest_name: name };
      pending = newInitiate(token, body);
      showPending({ explained: false });
    }
    let session: CallSession;
    try {
      session = await sendInitiate(pending);
    } catch (err) {
      const challenge = authenticationRequired(err);
      if (!challenge || !card.authenticate) throw err;
      // 3-D Secure: the guest authenticates the first hold, then initiate adopts it (a new request,
      // kept as the first was: a retry of it carries the payment_intent_id too).
      await card.authenticate(challenge.clientSecret);
      pending = newInitiate(pending.guest_token, { ...pending.body, payment_intent_id: challenge.paymentIntentId });
      session = await sendInitiate(pending);
    }
    const stored: StoredCall = { short_code: link.short_code, call_id: session.call.id, guest_token: pending.guest_token };
    // The call first, then the initiate is forgotten: a reload in between finds the call.
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
    forgetInitiate();
    showCall(stored, session.call, session.signaling_token, session.turn_credentials, localStream);
  } catch (err) {
    stopLocalMedia(localStream);
    await afterFailedStart(err, card);
    throw err;
  } finally {
    showPending();
  }
}

/**
 * While an initiate waits for a final answer, the form shows what it sends and cannot be changed:
 * the name and the card are what that request carries, and "Start call" sends it again. A guest
 * who edits the form after "the server could not be reached" means to fix something, and would
 * expect the edit to count; but a request with other details under the same key is refused
 * (`409 idempotency_key_reused`), and one under a new key may be a second hold if the first got
 * through. So the details are fixed until the first attempt has an answer (a retry gets it), and
 * the page says so; then they can be changed again (a declined card, say).
 */
function showPending({ explained = true } = {}) {
  const pending = pendingInitiate();
  const form = document.getElementById("start-form");
  if (!(form instanceof HTMLFormElement)) return;
  const name = byId("guest-name", HTMLInputElement);
  const select = document.getElementById("card");
  const stripeField = document.getElementById("payment-element");
  const start = byId("start", HTMLButtonElement);
  let note = document.getElementById("start-pending");
  if (pending) {
    name.value = pending.body.guest_name ?? "";
    if (select instanceof HTMLSelectElement && [...select.options].some((o) => o.value === pending.body.payment_method_id)) {
      select.value = pending.body.payment_method_id;
    }
  }
  if (pending && explained) {
    if (!note) {
      note = h(
        "p",
        { id: "start-pending", class: "hint" },
        "Your last attempt to start the call got no final answer, so it may have gone through. “Start call” asks again with the same name and card, and cannot place a second hold; they can be changed once it has an answer.",
      );
      start.before(note);
    }
    start.setAttribute("aria-describedby", "start-pending");
  } else {
    note?.remove();
    start.removeAttribute("aria-describedby");
  }
  // (While the first attempt runs, the form is fixed too, without a word: the button is busy.)
  name.readOnly = pending !== null;
  if (select instanceof HTMLSelectElement) select.disabled = pending !== null;
  // Stripe's Payment Element is a frame: `inert` keeps the guest out of it.
  stripeField?.toggleAttribute("inert", pending !== null);
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
  for (const id of ["start-section", "unavailable", "rejoin", "replay"]) document.getElementById(id)?.setAttribute("hidden", "");
  document.getElementById("start-again")?.remove();
  // The page of a link that became unavailable meanwhile (a single-use link, say) names the call.
  const title = document.querySelector("h1");
  if (title) title.textContent = `Call ${link.host.display_name}`;
  startCall({
    role: "guest",
    call,
    peerName: link.host.display_name,
    signalingToken,
    turn,
    localStream,
    auth: async () => bearer(stored.guest_token),
    onEnded: (_call, how) => {
      forgetCall();
      if (how === "left") offerStartAgain();
    },
  });
}

/**
 * The page left a call that goes on without it (another tab has it, or it could not be rejoined
 * from here): the call view says why, and offers to start again, on the start form when the page
 * has one (the link is still available), or back at the link's page.
 */
function offerStartAgain() {
  const section = byId("call", HTMLElement);
  document.getElementById("start-again")?.remove();
  const hasForm = document.getElementById("start-form") instanceof HTMLFormElement;
  const action = hasForm ? h("button", { type: "button", class: "primary" }, "Start again") : h("a", { href: link.url }, "Back to the link");
  const wrapper = h("div", { id: "start-again", class: "actions" }, action);
  section.append(wrapper);
  if (action instanceof HTMLButtonElement) {
    action.addEventListener("click", () => {
      wrapper.remove();
      section.hidden = true;
      clearError();
      void offerNewCall().then(() => moveFocusTo(byId("price-heading", HTMLElement)));
    });
  }
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
/** Starts the call as "Start call" does (the form's card field, once it is ready). */
let pressStart: (() => void) | null = null;

/** The start form, ready to start a call (the unavailable page, which has none, shows its reason). */
async function offerNewCall() {
  document.getElementById("start-section")?.removeAttribute("hidden");
  const form = document.getElementById("start-form");
  if (!(form instanceof HTMLFormElement) || startFormReady) return;
  startFormReady = true;
  showPending();
  const button = byId("start", HTMLButtonElement);
  let card: CardInput;
  try {
    card = await cardInput();
  } catch (err) {
    showError(err);
    if (!pendingInitiate()) {
      button.disabled = true;
      return;
    }
    // The card field could not be set up (Stripe.js did not load), but the pending initiate needs
    // no card from it: it is sent as it was kept.
    card = { paymentMethod: () => Promise.reject(err instanceof Error ? err : new Error(String(err))) };
  }
  pressStart = () => void whileBusy(button, () => startNewCall(card));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    pressStart?.();
  });
}

/**
 * The page of a link that has become unavailable (its last use taken, perhaps by the very initiate
 * whose answer was lost) has no start form: a pending initiate gets a "Try again" of its own there.
 */
function offerReplay() {
  let section = document.getElementById("replay");
  if (!section) {
    const button = h("button", { type: "button", class: "primary" }, "Try again");
    section = h(
      "section",
      { id: "replay", "aria-labelledby": "replay-heading" },
      h("h2", { id: "replay-heading", tabindex: "-1" }, "Your call may have started"),
      h("p", {}, "Your last attempt to start a call from this tab got no final answer. Try again to get it: this cannot place a second hold."),
      h("div", { class: "actions" }, button),
    );
    byId("error", HTMLElement).after(section);
    // No card field here: the request is sent as it was kept (a 3-D Secure challenge cannot be met
    // on this page, and needs none: the follow-up was kept with its payment_intent_id).
    const card: CardInput = {
      paymentMethod: () => Promise.reject(new Error("This link is unavailable now.")),
    };
    button.addEventListener("click", () => {
      void whileBusy(button, async () => {
        try {
          await startNewCall(card);
        } finally {
          if (!pendingInitiate()) section?.setAttribute("hidden", "");
        }
      });
    });
    pressStart = () => button.click();
  }
  section.hidden = false;
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
  const pending = pendingInitiate();
  // The guest this tab was (a reload must not make a new one: the pending initiate is theirs).
  if (pending) guestToken = Promise.resolve(pending.guest_token);
  if (pending && !(document.getElementById("start-form") instanceof HTMLFormElement)) offerReplay();
  else await offerNewCall();
  // Reloaded while an initiate had no final answer: it is sent again at once, as it was, and this
  // page goes on as that answer says (the call, or why not).
  if (pending) pressStart?.();
}

void main();
