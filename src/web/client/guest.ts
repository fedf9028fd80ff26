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
  /** Whether the field shows this payment method now (Stripe: the card confirmed in it, unchanged). */
  shows?(paymentMethodId: string): boolean;
}

/** No card field (the page of an unavailable link, or Stripe.js did not load): only a kept initiate can be sent. */
const NO_CARD: CardInput = { paymentMethod: () => Promise.reject(new Error("There is no card field on this page.")) };

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
  return { paymentMethod: async () => select.value, shows: (id) => [...select.options].some((o) => o.value === id) };
}

/** The start form's card field, once it is ready (null before, and on a page without the form). */
let formCard: CardInput | null = null;

// --- starting a call ----------------------------------------------------------------------------

type InitiateBody = Schemas["InitiateCallRequest"];

/**
 * An initiate whose answer is not final yet (docs/api.md, "Idempotency keys"): its
 * X-Idempotency-Key, its body and the guest token it was sent with. Written to sessionStorage
 * before the request is sent, and sent again exactly as it is (on "Start call", and on "Check"
 * after a reload) until it gets a final answer: a call, or a refusal that is final for its key (a
 * declined card, say). So no retry can place a second hold: not one after a network error, not one
 * after a reload (which would otherwise be a new guest with a new key), not a 3-D Secure follow-up
 * (its payment_intent_id is part of the body kept, and it is kept before the challenge).
 */
interface PendingInitiate {
  short_code: string;
  key: string;
  guest_token: string;
  body: InitiateBody;
  /** When it was kept (Date.now()): it is dropped after PENDING_TTL_MS. */
  created_at: number;
}

/** One slot per link (this prefix and the short code); a tab keeps the slot of the link it is on. */
const PENDING_PREFIX = "vidivo:guest-initiate:";
const PENDING_KEY = `${PENDING_PREFIX}${link.short_code}`;
/**
 * How long a kept initiate is worth keeping: 10 minutes. Whatever call it made is cancelled by then
 * (its guest never came: `host_no_show`, 5 minutes after initiate, the hold released; the margin
 * covers that deadline running late), so a new attempt can no longer be a second hold; and a tab
 * restored later (a closed tab reopened, a session restored, on a shared machine) does not offer
 * somebody else's attempt, with their name and their guest token, to whoever sits there next.
 */
const PENDING_TTL_MS = 10 * 60_000;

function pendingInitiate(): PendingInitiate | null {
  let pending: PendingInitiate | null = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? "null") as PendingInitiate | null;
  } catch {
    // unreadable: dropped below
  }
  if (pending === null && sessionStorage.getItem(PENDING_KEY) === null) return null;
  const age = Date.now() - (pending?.created_at ?? Number.NaN);
  if (pending?.short_code !== link.short_code || !(Math.abs(age) <= PENDING_TTL_MS)) {
    forgetInitiate();
    return null;
  }
  return pending;
}

/**
 * What this tab kept for other links goes (one attempt at a time, on the link it is on; that
 * attempt's call, if it made one, is cancelled by itself and its hold released), and so does the
 * single slot of earlier versions of this page.
 */
function tidyStorage() {
  sessionStorage.removeItem("vidivo:guest-initiate");
  for (let i = sessionStorage.length - 1; i >= 0; i--) {
    const key = sessionStorage.key(i);
    if (key?.startsWith(PENDING_PREFIX) && key !== PENDING_KEY) sessionStorage.removeItem(key);
  }
  pendingInitiate(); // this link's, when it is too old
}

/** A new initiate, kept before it is sent (a reload while it runs must find it). */
function newInitiate(guestTokenUsed: string, body: InitiateBody): PendingInitiate {
  const pending: PendingInitiate = { short_code: link.short_code, key: idempotencyKey(), guest_token: guestTokenUsed, body, created_at: Date.now() };
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
    if (!answeredForGood(err)) throw err;
    forgetInitiate();
    // A 3-D Secure follow-up whose hold the bank never confirmed (the challenge was not completed):
    // said in words, and the next "Start call" asks for the challenge again.
    if (pending.body.payment_intent_id && err.code === "validation_error" && err.details?.payment_intent_id) {
      throw new Error("Your bank did not confirm the payment (3-D Secure), so no call was started. Start the call again to be asked once more.", { cause: err });
    }
    throw err;
  }
}

/**
 * Whether a failed initiate's answer is final for its key. Not so: no answer (status 0: the hold
 * may have been placed), a 5xx (the key is released, the outcome unknown), 429 (not run), and
 * 409 `conflict` (the first request with this key is still running): a retry must carry the same
 * key, to get that request's outcome rather than a second hold.
 */
function answeredForGood(err: unknown): err is ApiError {
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
  /** Asking again for an attempt sent before: one that gets no answer again may be cancelled. */
  const retry = pending !== null;
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
      // kept as the first was: a retry of it carries the payment_intent_id too). Kept before the
      // challenge: a phone's browser may discard this tab while the guest is in their bank's app,
      // and the reload must find the follow-up (which adopts the hold authenticated meanwhile), not
      // a blank form whose next start would be a second hold.
      pending = newInitiate(pending.guest_token, { ...pending.body, payment_intent_id: challenge.paymentIntentId });
      try {
        await card.authenticate(challenge.clientSecret);
      } catch (failed) {
        // Not authenticated (the challenge failed, or was closed): the follow-up could only be
        // refused. The hold it would have adopted is released unused.
        forgetInitiate();
        throw failed;
      }
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
    // Asked again, and still no answer: the guest may also give the attempt up.
    if (retry && pendingInitiate()) offerReplay();
    throw err;
  } finally {
    showPending();
  }
}

/**
 * While an initiate waits for a final answer, the form shows what it sends and cannot be changed:
 * the name and the card are what that request carries, and "Start call" (or "Check") sends it
 * again. A guest who edits the form after "the server could not be reached" means to fix
 * something, and would expect the edit to count; but a request with other details under the same
 * key is refused (`409 idempotency_key_reused`), and one under a new key may be a second hold if
 * the first got through. So the details are fixed until the first attempt has an answer (a retry
 * gets it) or is cancelled, and the page says so; then they can be changed again (a declined card,
 * say).
 */
function showPending({ explained = true } = {}) {
  const pending = pendingInitiate();
  const form = document.getElementById("start-form");
  if (!(form instanceof HTMLFormElement)) return;
  const name = byId("guest-name", HTMLInputElement);
  const select = document.getElementById("card");
  const stripeField = document.getElementById("payment-element");
  const start = byId("start", HTMLButtonElement);
  const checking = replayShown();
  let note = document.getElementById("start-pending");
  if (pending) {
    name.value = pending.body.guest_name ?? "";
    if (select instanceof HTMLSelectElement && [...select.options].some((o) => o.value === pending.body.payment_method_id)) {
      select.value = pending.body.payment_method_id;
    }
  }
  if (pending && explained && !checking) {
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
  // The card the attempt carries: the field shows it while it holds that card (the test card
  // chosen, or the card typed in before the first attempt); a field that does not (Stripe's,
  // mounted afresh by a reload: it is empty, or shows another card) is hidden, and a line says
  // which card it is.
  const cardShown =
    pending === null ||
    (select instanceof HTMLSelectElement
      ? [...select.options].some((o) => o.value === pending.body.payment_method_id)
      : (formCard?.shows?.(pending.body.payment_method_id) ?? false));
  let cardLine = document.getElementById("pending-card");
  if (!cardShown) {
    if (!cardLine) {
      cardLine = h("p", { id: "pending-card", class: "hint" });
      (stripeField ?? select)?.after(cardLine);
    }
    cardLine.textContent = "Card: the card you entered for that attempt. It is used again as it was; the card field comes back once the attempt has an answer, or is cancelled.";
  } else {
    cardLine?.remove();
  }
  if (stripeField) stripeField.hidden = !cardShown;
  if (select instanceof HTMLSelectElement) select.hidden = !cardShown;
  // (While the first attempt runs, the form is fixed too, without a word: the button is busy.)
  name.readOnly = pending !== null;
  if (select instanceof HTMLSelectElement) select.disabled = pending !== null;
  // Stripe's Payment Element is a frame: `inert` keeps the guest out of it.
  stripeField?.toggleAttribute("inert", pending !== null);
  // While "Check" is offered, it is what asks again.
  start.hidden = pending !== null && checking;
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

// --- an attempt that may have gone through ------------------------------------------------------

function replayShown(): boolean {
  const section = document.getElementById("replay");
  return section !== null && !section.hidden;
}

/** The attempt in words: the name and the card it carries. */
function describeAttempt(pending: PendingInitiate): string {
  const select = document.getElementById("card");
  const option = select instanceof HTMLSelectElement ? [...select.options].find((o) => o.value === pending.body.payment_method_id) : undefined;
  const card = option ? option.text : "the card you entered";
  const name = pending.body.guest_name ? `as “${pending.body.guest_name}”, ` : "";
  return `Your last attempt to start a call from this tab (${name}with ${card}) got no final answer, so a call may have been made and a hold placed on your card.`;
}

/**
 * "Your last attempt may have gone through": an initiate kept from before a reload (never sent
 * again by itself: the tab may have been restored for someone else, who must not start that
 * person's call), or one asked for again without an answer. "Check" sends it again exactly as it
 * was kept (it gets the call it made, and cannot place a second hold); "Cancel this attempt"
 * forgets it and frees the form. Both pages have it: the page of an unavailable link (its last use
 * taken, perhaps by this very attempt) has no form, and this is its way to the call.
 */
function offerReplay() {
  const pending = pendingInitiate();
  if (!pending) return;
  let section = document.getElementById("replay");
  if (!section) section = makeReplaySection();
  const summary = byId("replay-summary", HTMLElement);
  summary.textContent = describeAttempt(pending);
  const wasHidden = section.hidden;
  section.hidden = false;
  showPending();
  if (wasHidden) moveFocusTo(byId("replay-heading", HTMLElement));
}

function makeReplaySection(): HTMLElement {
  const check = h("button", { type: "button", class: "primary" }, "Check");
  const cancel = h("button", { type: "button", "aria-describedby": "replay-cancel-hint" }, "Cancel this attempt");
  const section = h(
    "section",
    { id: "replay", "aria-labelledby": "replay-heading" },
    h("h2", { id: "replay-heading", tabindex: "-1" }, "Your last attempt may have gone through"),
    h("p", { id: "replay-summary" }),
    h("p", {}, "“Check” asks again with exactly the same details: if the call was made, you are taken to it. This cannot place a second hold."),
    h(
      "p",
      { id: "replay-cancel-hint", class: "hint" },
      "“Cancel this attempt” forgets it here, so that you can start afresh. If it did go through, nobody joins its call: the call is cancelled by itself within 5 minutes and the hold on your card is released, so nothing is charged for it.",
    ),
    h("div", { class: "actions" }, check, cancel),
  );
  section.hidden = true;
  byId("error", HTMLElement).after(section);

  check.addEventListener("click", () => {
    cancel.disabled = true;
    void whileBusy(check, async () => {
      try {
        await startNewCall(formCard ?? NO_CARD);
      } finally {
        cancel.disabled = false;
        // Answered: the call view has the focus, or the form (or the page) says why not.
        if (!pendingInitiate() && replayShown()) closeReplay();
      }
    });
  });
  cancel.addEventListener("click", () => {
    check.disabled = true;
    void whileBusy(cancel, async () => {
      try {
        await cancelAttempt();
      } finally {
        check.disabled = false;
      }
    });
  });
  return section;
}

/** "Cancel this attempt": forgotten, and the form is free for a new one (by a new guest). */
async function cancelAttempt() {
  forgetInitiate();
  // The attempt's guest is not carried over (the tab may be someone else's now): a new one, and a
  // card field of the new guest's.
  guestToken = null;
  closeReplay();
  if (formCard?.discard) {
    try {
      await formCard.discard();
    } catch {
      // The field is renewed at the next attempt.
    }
  }
}

function closeReplay() {
  document.getElementById("replay")?.setAttribute("hidden", "");
  showPending();
  const name = document.getElementById("guest-name");
  const title = document.querySelector("h1");
  if (name instanceof HTMLInputElement && !byId("start-section", HTMLElement).hidden) name.focus();
  else if (title) moveFocusTo(title);
}

function showCall(stored: StoredCall, call: Call, signalingToken: string, turn: TurnCredentials, localStream: MediaStream) {
  for (const id of ["start-section", "unavailable", "rejoin", "replay", "ended"]) document.getElementById(id)?.setAttribute("hidden", "");
  for (const id of ["start-again", "left-call"]) document.getElementById(id)?.remove();
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
      // Ended: nothing of it is kept. Taken over by another tab (4009): that tab has it, and this
      // one offers nothing (a start here would be a second call, a second hold; a reload here takes
      // the call back). Left (the page could not get back in): it may still be going on.
      if (how === "ended") forgetCall();
      else if (how === "left") offerEndLeftCall(stored);
    },
  });
}

/**
 * The page left a call that may go on without it (it could not get back in: its token was
 * refused). No new call until that one is over: "End that call" ends it (a call the host has not
 * joined yet is cancelled and its hold released), and only then is starting again offered.
 */
function offerEndLeftCall(stored: StoredCall) {
  const section = byId("call", HTMLElement);
  document.getElementById("left-call")?.remove();
  /** One key for "End that call": pressed again after a failure, it is the same request. */
  const key = idempotencyKey();
  const button = h("button", { type: "button", class: "primary", "aria-describedby": "left-call-hint" }, "End that call");
  const wrapper = h(
    "div",
    { id: "left-call" },
    h(
      "p",
      { id: "left-call-hint" },
      "That call may still be going on without you. End it before you start another one: a call the host has not joined yet is cancelled and its hold released; one in progress is charged up to now.",
    ),
    h("div", { class: "actions" }, button),
  );
  section.append(wrapper);
  button.addEventListener("click", () => {
    void whileBusy(button, async () => {
      const outcome = await endStoredCall(stored, key);
      wrapper.remove();
      if (outcome === "gone") {
        section.hidden = true;
        showError("That call is over.");
        await offerNewCall();
        const heading = document.getElementById("price-heading") ?? document.querySelector("h1");
        if (heading instanceof HTMLElement) moveFocusTo(heading);
        return;
      }
      offerStartAgain();
    });
  });
}

/**
 * The call this page left is over (ended from here): under its end, the way to a new one: the
 * start form when the page has one (the link is still available), or the link's page.
 */
function offerStartAgain() {
  const ended = byId("ended", HTMLElement);
  document.getElementById("start-again")?.remove();
  const hasForm = document.getElementById("start-form") instanceof HTMLFormElement;
  const action = hasForm ? h("button", { type: "button", class: "primary" }, "Start again") : h("a", { href: link.url }, "Back to the link");
  const wrapper = h("div", { id: "start-again", class: "actions" }, action);
  ended.append(wrapper);
  if (action instanceof HTMLButtonElement) {
    action.addEventListener("click", () => {
      wrapper.remove();
      ended.hidden = true;
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
  formCard = card;
  showPending();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void whileBusy(button, () => startNewCall(card));
  });
}

async function main() {
  tidyStorage();
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
  // The guest this tab was (the pending initiate is theirs, and so is the card field's setup).
  if (pending) guestToken = Promise.resolve(pending.guest_token);
  // Reloaded while an initiate had no final answer: it is not sent again by itself (this tab may
  // have been restored for someone else); the page says what may have happened, and the guest
  // checks it, or cancels it.
  if (pending) offerReplay();
  await offerNewCall();
}

void main();
