// A local, in-memory Stripe for tests: a node:http server that the official `stripe` SDK is
// pointed at (`new Stripe(secretKey, { host: "127.0.0.1", port, protocol: "http" })`). Stripe
// cannot be reached from the test machines, so this is the only double at the payment edge and it
// follows Stripe's wire protocol: form-encoded bodies in the SDK's bracket notation, Bearer keys,
// `Stripe-Version` (parameters unknown to that version are refused, as Stripe does),
// `Idempotency-Key` (scoped to the key and `Stripe-Account`, successes and API errors replayed
// with `Idempotent-Replayed: true`), Stripe's error bodies (which the SDK maps to its error
// classes), `Stripe-Should-Retry`, and webhooks signed the way Stripe signs them.
//
// Modelled: customers, SetupIntents (confirmed with the publishable key as Stripe.js does),
// card PaymentMethods from Stripe's test tokens, manual/automatic-capture PaymentIntents with
// destination charges (application fee + transfer), refunds (fee refunds, transfer reversals),
// Express accounts, balances, payouts, disputes and events. Test controls (`fail`, `stall`,
// `authenticate`, `completeOnboarding`, …) play the parts of the network, the card holder, the
// connected account and time. Events are recorded, never pushed: `deliver` sends one when the
// test chooses (late, twice, out of order).
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import qs from "qs";
import Stripe from "stripe";
import { Rules, readBody, type RequestMatch } from "./stand-in.ts";

// ─── Public types ────────────────────────────────────────────────────────────────────────────

export type FaultKind = "unreachable" | "rate_limited" | "api_error" | "lost_response";

/** Which requests a fault or stall applies to; every given field must match. */
export type { RequestMatch };

export interface RequestLogEntry {
  method: string;
  /** The path without the query string. */
  path: string;
  /** Form body (POST) or query (GET), as parsed (values are strings). */
  params: Record<string, unknown>;
  idempotencyKey: string | null;
  stripeAccount: string | null;
  /** The status sent; for `lost_response`, the status computed but never sent; 0 for `unreachable`. */
  status: number;
  replayed: boolean;
  fault: FaultKind | null;
  requestId: string;
}

/** Objects by id, in Stripe's JSON shape (only the fields this server models are present). */
export interface StripeState {
  customers: Map<string, Stripe.Customer>;
  setupIntents: Map<string, Stripe.SetupIntent>;
  paymentMethods: Map<string, Stripe.PaymentMethod>;
  paymentIntents: Map<string, Stripe.PaymentIntent>;
  charges: Map<string, Stripe.Charge>;
  applicationFees: Map<string, Stripe.ApplicationFee>;
  feeRefunds: Map<string, Stripe.FeeRefund>;
  transfers: Map<string, Stripe.Transfer>;
  transferReversals: Map<string, Stripe.TransferReversal>;
  refunds: Map<string, Stripe.Refund>;
  accounts: Map<string, Stripe.Account>;
  payouts: Map<string, Stripe.Payout>;
  disputes: Map<string, Stripe.Dispute>;
}

export interface DeliverOptions {
  /** Unix seconds for `t=` (default: now). */
  timestamp?: number;
  /** Sign with this secret instead of `webhookSecret` (a forgery). */
  secret?: string;
  /** More `v1=` entries: a `whsec_…` secret is signed with (e.g. an old secret during rotation); anything else is sent as is. */
  extraSignatures?: string[];
}

export interface StripeServer {
  url: string;
  port: number;
  secretKey: string;
  publishableKey: string;
  webhookSecret: string;
  requests: RequestLogEntry[];
  events: Stripe.Event[];
  state: StripeState;
  /** The next `count` matching requests fail as `kind` (checked before auth and idempotency; never stored). */
  fail(count: number, kind: FaultKind, match?: RequestMatch): void;
  /**
   * The next matching request stops after it has claimed its idempotency key, before it executes,
   * until `release()`: a duplicate sent meanwhile meets Stripe's 409 `idempotency_key_in_use`.
   */
  stall(match?: RequestMatch): { reached: Promise<void>; release(): void };
  /** The customer completes 3-D Secure: requires_action → requires_capture (or succeeded with automatic capture). */
  authenticate(paymentIntentId: string): void;
  /** charges_enabled, payouts_enabled, details_submitted; requirements cleared; emits account.updated. */
  completeOnboarding(accountId: string): void;
  /** charges_enabled false, requirements.past_due + disabled_reason; emits account.updated. */
  restrictAccount(accountId: string): void;
  /** The account's pending balance (its transfers so far) becomes available. */
  releaseFunds(accountId: string): void;
  /** A payout of `amount` (default: the available balance); emits payout.paid / payout.failed with `account`. */
  payout(accountId: string, opts: { amount?: number; status: "paid" | "failed" }): Stripe.Payout;
  /** The hold lapses: requires_capture → canceled, cancellation_reason "automatic"; emits payment_intent.canceled. */
  expireAuthorization(paymentIntentId: string): void;
  /** The card holder disputes the captured charge; emits charge.dispute.created (needs_response). */
  dispute(paymentIntentId: string, opts?: { amount?: number }): Stripe.Dispute;
  /** Emits charge.dispute.closed. */
  closeDispute(disputeId: string, status: "won" | "lost"): void;
  /** POSTs the event as Stripe would, with a real `Stripe-Signature`; returns the receiver's answer. */
  deliver(url: string, event: Stripe.Event, opts?: DeliverOptions): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

// ─── Errors in Stripe's shape ────────────────────────────────────────────────────────────────

type Obj = Record<string, any>;
type Params = Record<string, unknown>;

/**
 * An API error: HTTP status + the `error` object. `stored: false` for errors raised before the
 * endpoint began executing (malformed or missing parameters), which Stripe does not save under an
 * idempotency key; everything else (declines, state conflicts) is saved and replayed.
 */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: Obj,
    readonly stored = true,
    readonly headers: Record<string, string> = {},
  ) {
    super(error.message);
  }
}

function withDocUrl(fields: Obj): Obj {
  return fields.code ? { ...fields, doc_url: `https://stripe.com/docs/error-codes/${String(fields.code).replace(/_/g, "-")}` } : fields;
}

const invalidRequest = (message: string, fields: Obj = {}, status = 400) =>
  new ApiError(status, { type: "invalid_request_error", message, ...withDocUrl(fields) });

/** A parameter error found before execution (not stored under the idempotency key). */
const badParam = (message: string, fields: Obj = {}) =>
  new ApiError(400, { type: "invalid_request_error", message, ...withDocUrl(fields) }, false);

const missingParam = (param: string) => badParam(`Missing required param: ${param}.`, { code: "parameter_missing", param });

const RESOURCE_NAMES: Record<string, string> = {
  cus: "customer",
  seti: "setupintent",
  pm: "PaymentMethod",
  pi: "payment_intent",
  ch: "charge",
  re: "refund",
  acct: "account",
  evt: "event",
  dp: "dispute",
  po: "payout",
};

/** Stripe's resource_missing: 404 for the object named in the URL, 400 for an id in a parameter. */
function noSuch(prefix: string, id: string, param: string): ApiError {
  return invalidRequest(`No such ${RESOURCE_NAMES[prefix] ?? prefix}: '${id}'`, { code: "resource_missing", param }, param === "id" ? 404 : 400);
}

const unexpectedState = (code: string, message: string) => invalidRequest(message, { code });

const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;

// ─── Parameters (form values arrive as strings) ──────────────────────────────────────────────

const paramName = (path: string[]) => path[0] + path.slice(1).map((p) => `[${p}]`).join("");

/** The value at a nested path; "" counts as absent (Stripe: empty string unsets). */
function valueAt(params: Params, path: string[]): unknown {
  let value: unknown = params;
  for (const key of path) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
    value = (value as Params)[key];
  }
  return value === "" ? undefined : value;
}

function optStr(params: Params, ...path: string[]): string | undefined {
  const value = valueAt(params, path);
  if (value === undefined || typeof value === "string") return value;
  throw badParam(`Invalid string: ${JSON.stringify(value)}`, { code: "parameter_invalid_string", param: paramName(path) });
}

function reqStr(params: Params, ...path: string[]): string {
  const value = optStr(params, ...path);
  if (value === undefined) throw missingParam(paramName(path));
  return value;
}

function optInt(params: Params, ...path: string[]): number | undefined {
  const value = valueAt(params, path);
  if (value === undefined) return undefined;
  if (typeof value === "string" && /^-?\d{1,15}$/.test(value)) return Number(value);
  throw badParam(`Invalid integer: ${typeof value === "string" ? value : JSON.stringify(value)}`, { code: "parameter_invalid_integer", param: paramName(path) });
}

function reqInt(params: Params, ...path: string[]): number {
  const value = optInt(params, ...path);
  if (value === undefined) throw missingParam(paramName(path));
  return value;
}

function optBool(params: Params, ...path: string[]): boolean | undefined {
  const value = valueAt(params, path);
  if (value === undefined) return undefined;
  if (value === "true" || value === "false") return value === "true";
  throw badParam(`Invalid boolean: ${typeof value === "string" ? value : JSON.stringify(value)}`, { param: paramName(path) });
}

function optEnum<T extends string>(params: Params, allowed: readonly T[], ...path: string[]): T | undefined {
  const value = optStr(params, ...path);
  if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
  throw badParam(`Invalid ${paramName(path)}: must be one of ${allowed.join(", ")}`, { param: paramName(path) });
}

function optStrList(params: Params, ...path: string[]): string[] | undefined {
  const value = valueAt(params, path);
  if (value === undefined) return undefined;
  const items = Array.isArray(value) ? value : typeof value === "object" && value ? Object.values(value) : [value];
  if (items.every((v) => typeof v === "string")) return items as string[];
  throw badParam(`Invalid array`, { param: paramName(path) });
}

function optObj(params: Params, ...path: string[]): Params | undefined {
  const value = valueAt(params, path);
  if (value === undefined) return undefined;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Params;
  throw badParam(`Invalid object`, { param: paramName(path) });
}

/** `metadata[k]=v` merged into `base`; an empty value deletes the key, as in Stripe. */
function mergeMetadata(base: Record<string, string>, params: Params): Record<string, string> {
  const given = params.metadata;
  if (given === undefined || given === "") return { ...base };
  if (typeof given !== "object" || given === null || Array.isArray(given)) throw badParam("Invalid object", { param: "metadata" });
  const out = { ...base };
  for (const [key, value] of Object.entries(given)) {
    if (typeof value !== "string") throw badParam(`Invalid metadata value for ${key}`, { param: `metadata[${key}]` });
    if (value === "") delete out[key];
    else out[key] = value;
  }
  return out;
}

/** `off_session` is a boolean or, on PaymentIntents, "one_off" / "recurring". */
function optOffSession(params: Params): boolean | undefined {
  const value = valueAt(params, ["off_session"]);
  if (value === "one_off" || value === "recurring") return true;
  return optBool(params, "off_session");
}

// ─── Ids and test cards ──────────────────────────────────────────────────────────────────────

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const randomText = (length = 24) => Array.from(randomBytes(length), (b) => ALPHANUMERIC[b % 62]).join("");
const newId = (prefix: string) => `${prefix}_${randomText()}`;

type CardBehaviour = "succeed" | "generic_decline" | "insufficient_funds" | "authentication_required" | "decline_after_first_hold";

interface TestCard {
  brand: string;
  last4: string;
  behaviour: CardBehaviour;
}

/** Stripe's test PaymentMethod tokens (plus `pm_card_declineAfterFirstHold`, local to this server). */
const TEST_CARDS = new Map<string, TestCard>([
  ["pm_card_visa", { brand: "visa", last4: "4242", behaviour: "succeed" }],
  ["pm_card_mastercard", { brand: "mastercard", last4: "4444", behaviour: "succeed" }],
  ["pm_card_chargeDeclined", { brand: "visa", last4: "0002", behaviour: "generic_decline" }],
  ["pm_card_insufficientFunds", { brand: "visa", last4: "9995", behaviour: "insufficient_funds" }],
  ["pm_card_authenticationRequired", { brand: "visa", last4: "3184", behaviour: "authentication_required" }],
  ["pm_card_declineAfterFirstHold", { brand: "visa", last4: "0341", behaviour: "decline_after_first_hold" }],
]);

const DECLINE_MESSAGES: Record<string, string> = {
  generic_decline: "Your card was declined.",
  insufficient_funds: "Your card has insufficient funds.",
  authentication_required: "Your card was declined. This transaction requires authentication.",
};

const RETURN_URL_REQUIRED =
  "A `return_url` must be specified because this Payment Intent is configured to automatically accept the payment methods enabled in the Dashboard, some of which may require a full page redirect to succeed. If you do not want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.";

const CANCELABLE = ["requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing"];
const CONFIRMABLE = ["requires_payment_method", "requires_confirmation", "requires_action"];

/** Who caused an event: the API request (id + idempotency key), or a test control (nulls). */
interface Ctx {
  requestId: string | null;
  idempotencyKey: string | null;
  /** The `Stripe-Account` header (only on routes that honour it). */
  account: string | null;
  /** The request was made with the publishable key (client-side endpoints). */
  publishable: boolean;
  /** The request's `Stripe-Version` (the SDK always sends its pinned version). */
  apiVersion: string;
}

const CONTROL: Ctx = { requestId: null, idempotencyKey: null, account: null, publishable: false, apiVersion: Stripe.API_VERSION };

const list = (data: Obj[], url: string, hasMore = false) => ({ object: "list", data, has_more: hasMore, url });

// ─── The emulated Stripe account: objects and the rules that change them ─────────────────────

class Emulator {
  readonly state = {
    customers: new Map<string, Obj>(),
    setupIntents: new Map<string, Obj>(),
    paymentMethods: new Map<string, Obj>(),
    paymentIntents: new Map<string, Obj>(),
    charges: new Map<string, Obj>(),
    applicationFees: new Map<string, Obj>(),
    feeRefunds: new Map<string, Obj>(),
    transfers: new Map<string, Obj>(),
    transferReversals: new Map<string, Obj>(),
    refunds: new Map<string, Obj>(),
    accounts: new Map<string, Obj>(),
    payouts: new Map<string, Obj>(),
    disputes: new Map<string, Obj>(),
  };
  readonly events: Obj[] = [];
  private readonly eventsById = new Map<string, Obj>();
  /** Hidden card behaviour of each stored PaymentMethod (inherited from its test token). */
  private readonly behaviours = new Map<string, CardBehaviour>();
  /** Unattached PaymentMethods already used once (Stripe refuses a second use). */
  private readonly consumed = new Set<string>();
  /** `metadata.call_id`s that already had their first hold (pm_card_declineAfterFirstHold). */
  private readonly firstHolds = new Set<string>();
  /** PaymentIntents whose 3-D Secure the customer completed. */
  private readonly authenticated = new Set<string>();
  /** Transfers whose funds were released (available rather than pending). */
  private readonly released = new Set<string>();
  /** The connected account each payout belongs to. */
  private readonly payoutOwner = new Map<string, string>();

  constructor(
    private readonly now: () => number,
    private readonly baseUrl: string,
  ) {}

  private created() {
    return Math.floor(this.now() / 1000);
  }

  // Events: a deep copy of the object as it is now, so a late delivery shows the old state.
  private emit(type: string, object: Obj, ctx: Ctx, extra: { previous?: Obj; account?: string } = {}): Obj {
    const event: Obj = {
      id: newId("evt"),
      object: "event",
      ...(extra.account ? { account: extra.account } : {}),
      api_version: Stripe.API_VERSION,
      created: this.created(),
      data: { object: structuredClone(object), ...(extra.previous ? { previous_attributes: structuredClone(extra.previous) } : {}) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
      type,
    };
    this.events.push(event);
    this.eventsById.set(event.id, event);
    return event;
  }

  event(id: string): Obj {
    const event = this.eventsById.get(id);
    if (!event) throw noSuch("evt", id, "id");
    return event;
  }

  /** A stored object by id (for `expand`), or a test token's view. */
  lookup(id: string): Obj | undefined {
    for (const map of Object.values(this.state)) {
      const found = map.get(id);
      if (found) return found;
    }
    return this.tokenView(id);
  }

  private get(map: Map<string, Obj>, prefix: string, id: string, param = "id"): Obj {
    const found = map.get(id);
    if (!found) throw noSuch(prefix, id, param);
    return found;
  }

  // ── Customers

  createCustomer(params: Params): Obj {
    const customer = {
      id: newId("cus"),
      object: "customer",
      created: this.created(),
      description: optStr(params, "description") ?? null,
      email: optStr(params, "email") ?? null,
      name: optStr(params, "name") ?? null,
      invoice_settings: { default_payment_method: null },
      livemode: false,
      metadata: mergeMetadata({}, params),
    };
    this.state.customers.set(customer.id, customer);
    return customer;
  }

  customer(id: string): Obj {
    return this.get(this.state.customers, "cus", id);
  }

  /** Stripe's DELETE /v1/customers/:id: the customer is gone (a second delete is resource_missing). */
  deleteCustomer(id: string): Obj {
    this.customer(id);
    this.state.customers.delete(id);
    return { id, object: "customer", deleted: true };
  }

  updateCustomer(params: Params, id: string): Obj {
    const customer = this.customer(id);
    for (const field of ["description", "email", "name"]) {
      const value = optStr(params, field);
      if (value !== undefined) customer[field] = value;
    }
    const defaultPm = optStr(params, "invoice_settings", "default_payment_method");
    if (defaultPm !== undefined) {
      const pm = this.get(this.state.paymentMethods, "pm", defaultPm, "invoice_settings[default_payment_method]");
      if (pm.customer !== id) throw invalidRequest(`The customer does not have a payment method with the ID ${defaultPm}. The payment method must be attached to the customer.`, { param: "invoice_settings[default_payment_method]" });
      customer.invoice_settings.default_payment_method = defaultPm;
    }
    customer.metadata = mergeMetadata(customer.metadata, params);
    return customer;
  }

  // ── PaymentMethods

  private tokenView(id: string): Obj | undefined {
    const card = TEST_CARDS.get(id);
    return card && this.paymentMethodJson(id, card, null);
  }

  private paymentMethodJson(id: string, card: TestCard, customer: string | null): Obj {
    const expYear = new Date(this.now()).getUTCFullYear() + 3;
    return {
      id,
      object: "payment_method",
      allow_redisplay: "unspecified",
      billing_details: { address: null, email: null, name: null, phone: null },
      card: { brand: card.brand, country: "US", exp_month: 12, exp_year: expYear, funding: "credit", last4: card.last4 },
      created: this.created(),
      customer,
      livemode: false,
      metadata: {},
      type: "card",
    };
  }

  paymentMethod(id: string): Obj {
    const found = this.state.paymentMethods.get(id) ?? this.tokenView(id);
    if (!found) throw noSuch("pm", id, "id");
    return found;
  }

  /** A new stored PaymentMethod from a test token, with the token's behaviour. */
  private cloneToken(token: string, customer: string | null): Obj {
    const card = TEST_CARDS.get(token)!;
    const pm = this.paymentMethodJson(newId("pm"), card, customer);
    this.state.paymentMethods.set(pm.id, pm);
    this.behaviours.set(pm.id, card.behaviour);
    return pm;
  }

  /** The PaymentMethod a payment or setup will use, checked against the customer it is for. */
  private usablePaymentMethod(id: string, customer: string | null, param = "payment_method"): Obj {
    if (TEST_CARDS.has(id)) return this.cloneToken(id, null);
    const pm = this.get(this.state.paymentMethods, "pm", id, param);
    if (pm.customer && pm.customer !== customer) {
      throw invalidRequest(
        customer
          ? `The provided PaymentMethod ${id} belongs to another Customer (${pm.customer}); it cannot be used with Customer ${customer}.`
          : `The provided PaymentMethod ${id} is attached to a Customer (${pm.customer}); the customer parameter must also be provided.`,
        { param },
      );
    }
    if (!pm.customer && this.consumed.has(id)) {
      throw invalidRequest(
        "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, shared with a connected account without Customer attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer first.",
        { param },
      );
    }
    return pm;
  }

  // ── SetupIntents

  /**
   * Which payment methods an intent accepts. Since 2026-09-30.endive the request names the list
   * `allowed_payment_method_types` (`payment_method_types` is refused, see checkParams); without
   * a list, or with `automatic_payment_methods`, the Dashboard's methods apply (enabled by default).
   */
  private paymentMethodConfig(params: Params) {
    const legacyTypes = optStrList(params, "payment_method_types");
    const allowed = optStrList(params, "allowed_payment_method_types") ?? null;
    const automatic = optObj(params, "automatic_payment_methods");
    if (legacyTypes && automatic) throw badParam("You may only specify one of these parameters: automatic_payment_methods, payment_method_types.", { param: "automatic_payment_methods" });
    if (legacyTypes) return { allowed_payment_method_types: null, payment_method_types: legacyTypes, automatic_payment_methods: null };
    const enabled = automatic ? optBool(params, "automatic_payment_methods", "enabled") : !allowed;
    const allowRedirects = optEnum(params, ["always", "never"], "automatic_payment_methods", "allow_redirects") ?? "always";
    return {
      allowed_payment_method_types: allowed,
      payment_method_types: allowed ?? ["card"],
      automatic_payment_methods: enabled ? { allow_redirects: allowRedirects, enabled: true } : null,
    };
  }

  private optCustomer(params: Params): string | null {
    const id = optStr(params, "customer");
    if (id !== undefined && !this.state.customers.has(id)) throw noSuch("cus", id, "customer");
    return id ?? null;
  }

  createSetupIntent(params: Params): Obj {
    const id = newId("seti");
    const intent = {
      id,
      object: "setup_intent",
      ...this.paymentMethodConfig(params),
      cancellation_reason: null,
      client_secret: `${id}_secret_${randomText()}`,
      created: this.created(),
      customer: this.optCustomer(params),
      description: optStr(params, "description") ?? null,
      last_setup_error: null,
      livemode: false,
      metadata: mergeMetadata({}, params),
      next_action: null,
      payment_method: null,
      status: "requires_payment_method",
      usage: optEnum(params, ["off_session", "on_session"], "usage") ?? "off_session",
    };
    this.state.setupIntents.set(id, intent);
    return intent;
  }

  setupIntent(ctx: Ctx, params: Params, id: string): Obj {
    const intent = this.get(this.state.setupIntents, "seti", id);
    this.checkClientSecret(ctx, params, intent, "SetupIntent");
    return intent;
  }

  /** With the publishable key (Stripe.js) the intent's client_secret must be given and match. */
  private checkClientSecret(ctx: Ctx, params: Params, intent: Obj, kind: string) {
    const given = optStr(params, "client_secret");
    if (given === undefined && !ctx.publishable) return;
    if (given !== intent.client_secret) {
      throw invalidRequest(`The client_secret provided does not match any associated ${kind} on this account.`, { param: "client_secret" });
    }
  }

  confirmSetupIntent(ctx: Ctx, params: Params, id: string): Obj {
    const intent = this.setupIntent(ctx, params, id);
    if (!CONFIRMABLE.includes(intent.status)) {
      throw unexpectedState("setup_intent_unexpected_state", `You cannot confirm this SetupIntent because it has a status of ${intent.status}.`);
    }
    const pmId = optStr(params, "payment_method") ?? intent.payment_method;
    if (!pmId) throw missingParam("payment_method");
    const pm = this.usablePaymentMethod(pmId, intent.customer);
    pm.customer = intent.customer; // attached for later off-session use
    Object.assign(intent, { payment_method: pm.id, status: "succeeded", last_setup_error: null });
    this.emit("setup_intent.succeeded", intent, ctx);
    return intent;
  }

  // ── PaymentIntents

  createPaymentIntent(ctx: Ctx, params: Params): Obj {
    const amount = reqInt(params, "amount");
    const currency = reqStr(params, "currency").toLowerCase();
    if (amount < 50) throw badParam(`Amount must be at least $0.50 ${currency}`, { code: "amount_too_small", param: "amount" });
    const customer = this.optCustomer(params);
    const destination = this.destination(params);
    const fee = optInt(params, "application_fee_amount");
    if (fee !== undefined) this.checkFee(fee, amount, destination, "application_fee_amount");
    const confirm = optBool(params, "confirm") ?? false;
    const offSession = optOffSession(params) ?? false;
    const returnUrl = optStr(params, "return_url");
    const pmId = optStr(params, "payment_method");
    const id = newId("pi");
    const intent: Obj = {
      id,
      object: "payment_intent",
      amount,
      amount_capturable: 0,
      amount_received: 0,
      application_fee_amount: fee ?? null,
      ...this.paymentMethodConfig(params),
      canceled_at: null,
      cancellation_reason: null,
      capture_method: optEnum(params, ["automatic", "automatic_async", "manual"], "capture_method") ?? "automatic_async",
      client_secret: `${id}_secret_${randomText()}`,
      confirmation_method: "automatic",
      created: this.created(),
      currency,
      customer,
      description: optStr(params, "description") ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: mergeMetadata({}, params),
      next_action: null,
      on_behalf_of: null,
      payment_method: null,
      setup_future_usage: optEnum(params, ["off_session", "on_session"], "setup_future_usage") ?? null,
      status: pmId ? "requires_confirmation" : "requires_payment_method",
      transfer_data: destination ? { destination } : null,
      transfer_group: optStr(params, "transfer_group") ?? null,
    };
    if (confirm) this.checkConfirmable(intent, pmId, returnUrl);
    intent.payment_method = pmId ? this.usablePaymentMethod(pmId, customer).id : null;
    this.state.paymentIntents.set(id, intent);
    if (confirm) this.attemptPayment(intent, offSession, ctx);
    return intent;
  }

  /** `transfer_data[destination]`: an account that can receive transfers. */
  private destination(params: Params): string | null {
    const id = optStr(params, "transfer_data", "destination");
    if (id === undefined) return null;
    const param = "transfer_data[destination]";
    const account = this.state.accounts.get(id);
    if (!account) throw invalidRequest(`No such destination: '${id}'`, { code: "resource_missing", param });
    if (!account.charges_enabled) {
      throw invalidRequest(
        "Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments",
        { code: "insufficient_capabilities_for_transfer", param },
      );
    }
    return id;
  }

  private checkFee(fee: number, amount: number, destination: string | null, param: string) {
    if (!destination) {
      throw invalidRequest(
        "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment (using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`).",
        { param },
      );
    }
    if (fee < 0) throw badParam(`Invalid non-negative integer: ${fee}`, { param });
    if (fee > amount) throw invalidRequest(`The application fee amount (${fee}) cannot exceed the amount (${amount}).`, { param });
  }

  private checkConfirmable(intent: Obj, pmId: string | undefined, returnUrl: string | undefined) {
    if (!pmId) {
      throw unexpectedState(
        "payment_intent_unexpected_state",
        "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with a payment method, provide a `payment_method` parameter.",
      );
    }
    const onlyCards = intent.payment_method_types.every((type: string) => type === "card");
    const mayRedirect = intent.automatic_payment_methods?.allow_redirects === "always" && !(intent.allowed_payment_method_types && onlyCards);
    if (mayRedirect && !returnUrl) throw invalidRequest(RETURN_URL_REQUIRED);
  }

  paymentIntent(ctx: Ctx, params: Params, id: string): Obj {
    const intent = this.get(this.state.paymentIntents, "pi", id);
    this.checkClientSecret(ctx, params, intent, "PaymentIntent");
    return intent;
  }

  confirmPaymentIntent(ctx: Ctx, params: Params, id: string): Obj {
    const intent = this.paymentIntent(ctx, params, id);
    if (!CONFIRMABLE.includes(intent.status)) {
      throw unexpectedState(
        "payment_intent_unexpected_state",
        `You cannot confirm this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be confirmed: ${CONFIRMABLE.join(", ")}.`,
      );
    }
    const pmId = optStr(params, "payment_method") ?? intent.payment_method ?? undefined;
    this.checkConfirmable(intent, pmId, optStr(params, "return_url"));
    intent.payment_method = this.usablePaymentMethod(pmId!, intent.customer).id;
    this.attemptPayment(intent, optOffSession(params) ?? false, ctx);
    return intent;
  }

  /** Runs the card: authorised, sent to 3-D Secure, or declined (402 thrown, the intent kept). */
  private attemptPayment(intent: Obj, offSession: boolean, ctx: Ctx) {
    const pm = this.state.paymentMethods.get(intent.payment_method)!;
    if (!pm.customer) this.consumed.add(pm.id);
    const behaviour = this.behaviours.get(pm.id) ?? "succeed";
    if (behaviour === "authentication_required" && !this.authenticated.has(intent.id)) {
      if (offSession) this.failPayment(intent, pm, "authentication_required", "authentication_required", ctx);
      Object.assign(intent, { status: "requires_action", next_action: { type: "use_stripe_sdk", use_stripe_sdk: { type: "three_d_secure_redirect", stripe_js: `${this.baseUrl}/3ds/${intent.id}` } } });
      this.emit("payment_intent.requires_action", intent, ctx);
      return;
    }
    const decline = this.declineFor(behaviour, intent);
    if (decline) this.failPayment(intent, pm, "card_declined", decline, ctx);
    this.authorize(intent, pm, ctx);
  }

  private declineFor(behaviour: CardBehaviour, intent: Obj): string | null {
    if (behaviour === "generic_decline" || behaviour === "insufficient_funds") return behaviour;
    if (behaviour !== "decline_after_first_hold") return null;
    const callId: string | undefined = intent.metadata.call_id;
    if (callId === undefined) return null;
    if (this.firstHolds.has(callId)) return "insufficient_funds";
    this.firstHolds.add(callId);
    return null;
  }

  private newCharge(intent: Obj, pm: Obj, fields: Obj): Obj {
    const charge = {
      id: newId("ch"),
      object: "charge",
      amount: intent.amount,
      amount_captured: 0,
      amount_refunded: 0,
      application_fee: null,
      application_fee_amount: null,
      balance_transaction: null,
      captured: false,
      created: this.created(),
      currency: intent.currency,
      customer: intent.customer,
      description: intent.description,
      disputed: false,
      failure_code: null,
      failure_message: null,
      livemode: false,
      metadata: { ...intent.metadata },
      paid: true,
      payment_intent: intent.id,
      payment_method: pm.id,
      payment_method_details: { type: "card", card: { ...pm.card } },
      refunded: false,
      status: "succeeded",
      transfer: null,
      transfer_data: intent.transfer_data ? { ...intent.transfer_data, amount: null } : null,
      transfer_group: null,
      ...fields,
    };
    this.state.charges.set(charge.id, charge);
    return charge;
  }

  /** A decline: a failed charge, the intent back to requires_payment_method, and HTTP 402. */
  private failPayment(intent: Obj, pm: Obj, code: string, declineCode: string, ctx: Ctx): never {
    const message = DECLINE_MESSAGES[declineCode] ?? "Your card was declined.";
    const charge = this.newCharge(intent, pm, {
      status: "failed",
      paid: false,
      failure_code: code,
      failure_message: message,
      outcome: { network_status: "declined_by_network", reason: declineCode, type: "issuer_declined", seller_message: "The bank did not return any further details with this decline." },
    });
    const error = withDocUrl({ type: "card_error", code, decline_code: declineCode, message, charge: charge.id });
    Object.assign(intent, {
      status: "requires_payment_method",
      payment_method: null,
      latest_charge: charge.id,
      next_action: null,
      last_payment_error: { ...error, payment_method: structuredClone(pm) },
    });
    this.emit("payment_intent.payment_failed", intent, ctx);
    throw new ApiError(402, { ...error, payment_intent: structuredClone(intent), payment_method: structuredClone(pm) });
  }

  /** The hold: an uncaptured charge; automatic capture captures it at once. */
  private authorize(intent: Obj, pm: Obj, ctx: Ctx) {
    const charge = this.newCharge(intent, pm, {
      outcome: { network_status: "approved_by_network", reason: null, type: "authorized", seller_message: "Payment complete." },
    });
    Object.assign(intent, { status: "requires_capture", amount_capturable: intent.amount, latest_charge: charge.id, next_action: null, last_payment_error: null });
    if (intent.capture_method === "manual") this.emit("payment_intent.amount_capturable_updated", intent, ctx);
    else this.capture(intent, intent.amount, undefined, ctx);
  }

  capturePaymentIntent(ctx: Ctx, params: Params, id: string): Obj {
    const intent = this.get(this.state.paymentIntents, "pi", id);
    const amount = optInt(params, "amount_to_capture") ?? intent.amount_capturable;
    const fee = optInt(params, "application_fee_amount");
    if (intent.status !== "requires_capture") {
      throw unexpectedState(
        "payment_intent_unexpected_state",
        `This PaymentIntent could not be captured because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
      );
    }
    if (amount < 1) throw badParam(`Invalid positive integer: ${amount}`, { param: "amount_to_capture" });
    if (amount > intent.amount_capturable) {
      throw invalidRequest(`The amount to capture (${amount}) is greater than the amount capturable (${intent.amount_capturable}).`, { code: "amount_too_large", param: "amount_to_capture" });
    }
    if (fee !== undefined) this.checkFee(fee, amount, intent.transfer_data?.destination ?? null, "application_fee_amount");
    intent.metadata = mergeMetadata(intent.metadata, params);
    this.capture(intent, amount, fee, ctx);
    return intent;
  }

  private capture(intent: Obj, amount: number, fee: number | undefined, ctx: Ctx) {
    const charge = this.state.charges.get(intent.latest_charge)!;
    Object.assign(charge, { captured: true, amount_captured: amount, balance_transaction: newId("txn") });
    Object.assign(intent, { status: "succeeded", amount_received: amount, amount_capturable: 0 });
    if (intent.transfer_data) this.settleDestination(intent, charge, fee);
    this.emit("payment_intent.succeeded", intent, ctx);
  }

  /** Destination charge: the platform keeps the fee, the rest is transferred (pending). */
  private settleDestination(intent: Obj, charge: Obj, feeOverride: number | undefined) {
    const fee = Math.min(feeOverride ?? intent.application_fee_amount ?? 0, charge.amount_captured);
    const destination: string = intent.transfer_data.destination;
    if (fee > 0) {
      const applicationFee = {
        id: newId("fee"),
        object: "application_fee",
        account: destination,
        amount: fee,
        amount_refunded: 0,
        charge: charge.id,
        created: this.created(),
        currency: charge.currency,
        livemode: false,
        originating_transaction: null,
        refunded: false,
        refunds: list([], "/v1/application_fees/refunds"),
      };
      this.state.applicationFees.set(applicationFee.id, applicationFee);
      Object.assign(charge, { application_fee: applicationFee.id, application_fee_amount: fee });
      intent.application_fee_amount = fee;
    }
    const transfer = {
      id: newId("tr"),
      object: "transfer",
      amount: charge.amount_captured - fee,
      amount_reversed: 0,
      created: this.created(),
      currency: charge.currency,
      description: null,
      destination,
      destination_payment: newId("py"),
      livemode: false,
      metadata: {},
      reversals: list([], "/v1/transfers/reversals"),
      reversed: false,
      source_transaction: charge.id,
      transfer_group: null,
    };
    this.state.transfers.set(transfer.id, transfer);
    charge.transfer = transfer.id;
  }

  cancelPaymentIntent(ctx: Ctx, params: Params, id: string): Obj {
    const intent = this.get(this.state.paymentIntents, "pi", id);
    const reason = optEnum(params, ["duplicate", "fraudulent", "requested_by_customer", "abandoned"], "cancellation_reason");
    if (!CANCELABLE.includes(intent.status)) {
      throw unexpectedState(
        "payment_intent_unexpected_state",
        `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(", ")}.`,
      );
    }
    this.cancel(intent, reason ?? null, ctx);
    return intent;
  }

  /** Cancels; an uncaptured hold is released (its charge marked refunded, as Stripe shows it). */
  private cancel(intent: Obj, reason: string | null, ctx: Ctx) {
    const charge = intent.latest_charge && this.state.charges.get(intent.latest_charge);
    if (charge && charge.status === "succeeded" && !charge.captured) Object.assign(charge, { refunded: true, amount_refunded: charge.amount });
    Object.assign(intent, { status: "canceled", canceled_at: this.created(), cancellation_reason: reason, amount_capturable: 0, next_action: null });
    this.emit("payment_intent.canceled", intent, ctx);
  }

  // ── Refunds

  createRefund(ctx: Ctx, params: Params): Obj {
    const charge = this.refundableCharge(params);
    const refundable = charge.amount_captured - charge.amount_refunded;
    const amount = optInt(params, "amount") ?? refundable;
    if (amount < 1) throw badParam(`Invalid positive integer: ${amount}`, { param: "amount" });
    if (refundable === 0) throw invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: "charge_already_refunded" });
    if (amount > refundable) {
      throw invalidRequest(`Refund amount (${dollars(amount)}) is greater than unrefunded amount on charge (${dollars(refundable)})`, { code: "amount_too_large", param: "amount" });
    }
    const refundFee = optBool(params, "refund_application_fee") ?? false;
    const reverseTransfer = optBool(params, "reverse_transfer") ?? false;
    const refund: Obj = {
      id: newId("re"),
      object: "refund",
      amount,
      balance_transaction: newId("txn"),
      charge: charge.id,
      created: this.created(),
      currency: charge.currency,
      metadata: mergeMetadata({}, params),
      payment_intent: charge.payment_intent,
      reason: optEnum(params, ["duplicate", "fraudulent", "requested_by_customer"], "reason") ?? null,
      source_transfer_reversal: null,
      status: "succeeded",
      transfer_reversal: null,
    };
    const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount_captured;
    if (refundFee && charge.application_fee) this.refundFee(charge, amount);
    if (reverseTransfer && charge.transfer) refund.transfer_reversal = this.reverseTransfer(charge, amount, refund.id).id;
    this.state.refunds.set(refund.id, refund);
    this.emit("charge.refunded", charge, ctx, { previous });
    return refund;
  }

  private refundableCharge(params: Params): Obj {
    const piId = optStr(params, "payment_intent");
    const chargeId = optStr(params, "charge");
    if (!piId && !chargeId) throw badParam("One of the following params should be provided for this request: payment_intent or charge.", { code: "parameter_missing" });
    if (chargeId) {
      const charge = this.get(this.state.charges, "ch", chargeId, "charge");
      if (piId && charge.payment_intent !== piId) throw invalidRequest(`Charge ${chargeId} does not belong to PaymentIntent ${piId}.`, { param: "charge" });
      if (!charge.captured) throw invalidRequest(`Charge ${chargeId} has not been captured; cancel its PaymentIntent to release the authorization.`, { param: "charge" });
      return charge;
    }
    const intent = this.get(this.state.paymentIntents, "pi", piId!, "payment_intent");
    const charge = intent.latest_charge && this.state.charges.get(intent.latest_charge);
    if (!charge || !charge.captured) throw invalidRequest("This PaymentIntent does not have a successful charge to refund.", { param: "payment_intent" });
    return charge;
  }

  /** Share of `total` matching `amount` of the captured charge; all that is left once fully refunded. */
  private proportion(charge: Obj, total: number, alreadyReturned: number, amount: number): number {
    if (charge.refunded) return total - alreadyReturned;
    return Math.min(Math.round((total * amount) / charge.amount_captured), total - alreadyReturned);
  }

  private refundFee(charge: Obj, amount: number) {
    const fee = this.state.applicationFees.get(charge.application_fee)!;
    const feeRefund = {
      id: newId("fr"),
      object: "fee_refund",
      amount: this.proportion(charge, fee.amount, fee.amount_refunded, amount),
      balance_transaction: newId("txn"),
      created: this.created(),
      currency: fee.currency,
      fee: fee.id,
      metadata: {},
    };
    this.state.feeRefunds.set(feeRefund.id, feeRefund);
    fee.amount_refunded += feeRefund.amount;
    fee.refunded = fee.amount_refunded === fee.amount;
    fee.refunds.data.unshift(structuredClone(feeRefund));
  }

  private reverseTransfer(charge: Obj, amount: number, refundId: string): Obj {
    const transfer = this.state.transfers.get(charge.transfer)!;
    const reversal = {
      id: newId("trr"),
      object: "transfer_reversal",
      amount: this.proportion(charge, transfer.amount, transfer.amount_reversed, amount),
      balance_transaction: newId("txn"),
      created: this.created(),
      currency: transfer.currency,
      destination_payment_refund: newId("pyr"),
      metadata: {},
      source_refund: refundId,
      transfer: transfer.id,
    };
    this.state.transferReversals.set(reversal.id, reversal);
    transfer.amount_reversed += reversal.amount;
    transfer.reversed = transfer.amount_reversed === transfer.amount;
    transfer.reversals.data.unshift(structuredClone(reversal));
    return reversal;
  }

  refund(id: string): Obj {
    return this.get(this.state.refunds, "re", id);
  }

  listPaymentIntents(params: Params): Obj {
    const customer = optStr(params, "customer");
    const intents = [...this.state.paymentIntents.values()].filter((p) => !customer || p.customer === customer);
    return this.page(intents, params, "/v1/payment_intents");
  }

  listRefunds(params: Params): Obj {
    const piId = optStr(params, "payment_intent");
    const chargeId = optStr(params, "charge");
    const refunds = [...this.state.refunds.values()].filter((r) => (!piId || r.payment_intent === piId) && (!chargeId || r.charge === chargeId));
    return this.page(refunds, params, "/v1/refunds");
  }

  /** Newest first, `limit` (1–100, default 10) after `starting_after`. */
  private page(items: Obj[], params: Params, url: string): Obj {
    const limit = optInt(params, "limit") ?? 10;
    if (limit < 1 || limit > 100) throw badParam("Invalid limit: must be between 1 and 100", { param: "limit" });
    let newestFirst = [...items].reverse();
    const after = optStr(params, "starting_after");
    if (after) newestFirst = newestFirst.slice(newestFirst.findIndex((i) => i.id === after) + 1);
    return list(newestFirst.slice(0, limit), url, newestFirst.length > limit);
  }

  // ── Connect (Express accounts)

  createAccount(params: Params): Obj {
    const controller = optObj(params, "controller");
    const type = optEnum(params, ["express", "standard", "custom"], "type") ?? (controller ? String(valueAt(params, ["controller", "stripe_dashboard", "type"]) ?? "none") : undefined);
    if (!type) throw missingParam("type");
    const requested = Object.keys(optObj(params, "capabilities") ?? {}).filter((name) => optBool(params, "capabilities", name, "requested"));
    const due = ["business_type", "external_account", "tos_acceptance.date", "tos_acceptance.ip"];
    const account = {
      id: newId("acct"),
      object: "account",
      business_profile: { mcc: null, name: null, url: null },
      business_type: optStr(params, "business_type") ?? null,
      capabilities: Object.fromEntries(requested.map((name) => [name, "inactive"])),
      charges_enabled: false,
      controller: controller ?? { type: "application", is_controller: true },
      country: optStr(params, "country") ?? "US",
      created: this.created(),
      default_currency: "usd",
      details_submitted: false,
      email: optStr(params, "email") ?? null,
      future_requirements: { currently_due: [], eventually_due: [], past_due: [], disabled_reason: null, current_deadline: null, errors: [], pending_verification: [] },
      livemode: false,
      metadata: mergeMetadata({}, params),
      payouts_enabled: false,
      requirements: { currently_due: due, eventually_due: [...due], past_due: [], disabled_reason: "requirements.past_due", current_deadline: null, errors: [], pending_verification: [] },
      settings: { payouts: { schedule: { delay_days: 2, interval: "daily" } } },
      type,
    };
    this.state.accounts.set(account.id, account);
    return account;
  }

  account(id: string): Obj {
    return this.get(this.state.accounts, "acct", id);
  }

  createAccountLink(params: Params): Obj {
    const accountId = reqStr(params, "account");
    if (!optEnum(params, ["account_onboarding", "account_update"], "type")) throw missingParam("type");
    if (!this.state.accounts.has(accountId)) throw noSuch("acct", accountId, "account");
    const created = this.created();
    return { object: "account_link", created, expires_at: created + 300, url: `${this.baseUrl}/connect/onboarding/${accountId}` };
  }

  createLoginLink(id: string): Obj {
    const account = this.account(id);
    if (account.type !== "express" || !account.details_submitted) {
      throw invalidRequest("Cannot create a login link for an account that has not completed onboarding.", { param: "account" });
    }
    return { object: "login_link", created: this.created(), url: `${this.baseUrl}/connect/express/${id}/login_${randomText(12)}` };
  }

  /** Changes an account and emits account.updated (with `account` and previous_attributes). */
  private updateAccount(id: string, changes: Obj) {
    const account = this.account(id);
    const previous = Object.fromEntries(Object.keys(changes).map((key) => [key, structuredClone(account[key])]));
    Object.assign(account, changes);
    this.emit("account.updated", account, CONTROL, { previous, account: id });
  }

  completeOnboarding(id: string) {
    const account = this.account(id);
    const capabilities = Object.keys(account.capabilities).length ? account.capabilities : { transfers: "inactive" };
    this.updateAccount(id, {
      charges_enabled: true,
      payouts_enabled: true,
      details_submitted: true,
      capabilities: Object.fromEntries(Object.keys(capabilities).map((name) => [name, "active"])),
      requirements: { ...account.requirements, currently_due: [], eventually_due: [], past_due: [], disabled_reason: null },
    });
  }

  restrictAccount(id: string) {
    const account = this.account(id);
    const due = ["individual.verification.document"];
    this.updateAccount(id, {
      charges_enabled: false,
      requirements: { ...account.requirements, currently_due: due, eventually_due: [...due], past_due: [...due], disabled_reason: "requirements.past_due" },
    });
  }

  // ── Balances and payouts: derived from transfers, reversals and payouts

  balance(account: string | null): Obj {
    const available = new Map<string, number>();
    const pending = new Map<string, number>();
    const add = (into: Map<string, number>, currency: string, amount: number) => into.set(currency, (into.get(currency) ?? 0) + amount);
    if (account) {
      for (const t of this.state.transfers.values()) {
        if (t.destination === account) add(this.released.has(t.id) ? available : pending, t.currency, t.amount - t.amount_reversed);
      }
      for (const p of this.state.payouts.values()) {
        if (this.payoutOwner.get(p.id) === account && p.status !== "failed") add(available, p.currency, -p.amount);
      }
    } else {
      for (const c of this.state.charges.values()) add(available, c.currency, c.amount_captured - (c.captured ? c.amount_refunded : 0));
      for (const t of this.state.transfers.values()) add(available, t.currency, -(t.amount - t.amount_reversed));
    }
    const entries = (m: Map<string, number>) =>
      (m.size ? [...m] : [["usd", 0] as const]).map(([currency, amount]) => ({ amount, currency, source_types: { card: amount } }));
    return { object: "balance", available: entries(available), livemode: false, pending: entries(pending) };
  }

  releaseFunds(account: string) {
    this.account(account);
    for (const t of this.state.transfers.values()) if (t.destination === account) this.released.add(t.id);
  }

  payout(account: string, opts: { amount?: number; status: "paid" | "failed" }): Obj {
    this.account(account);
    const amount = opts.amount ?? this.balance(account).available.find((b: Obj) => b.currency === "usd")?.amount ?? 0;
    if (!(amount > 0)) throw new Error(`stripe-server: payout of ${amount} for ${account} (release funds first, or pass an amount)`);
    const created = this.created();
    const failed = opts.status === "failed";
    const payout = {
      id: newId("po"),
      object: "payout",
      amount,
      arrival_date: created + 2 * 86_400,
      automatic: true,
      balance_transaction: newId("txn"),
      created,
      currency: "usd",
      description: "STRIPE PAYOUT",
      destination: newId("ba"),
      failure_code: failed ? "account_closed" : null,
      failure_message: failed ? "The bank account has been closed." : null,
      livemode: false,
      metadata: {},
      method: "standard",
      status: opts.status,
      type: "bank_account",
    };
    this.state.payouts.set(payout.id, payout);
    this.payoutOwner.set(payout.id, account);
    this.emit(`payout.${opts.status}`, payout, CONTROL, { account });
    return payout;
  }

  listPayouts(account: string | null, params: Params): Obj {
    const payouts = [...this.state.payouts.values()].filter((p) => (this.payoutOwner.get(p.id) ?? null) === account);
    return this.page(payouts, params, "/v1/payouts");
  }

  // ── Test controls: the card holder and time

  authenticate(piId: string) {
    const intent = this.get(this.state.paymentIntents, "pi", piId);
    if (intent.status !== "requires_action") throw new Error(`stripe-server: ${piId} is ${intent.status}, not requires_action`);
    this.authenticated.add(piId);
    this.authorize(intent, this.state.paymentMethods.get(intent.payment_method)!, CONTROL);
  }

  expireAuthorization(piId: string) {
    const intent = this.get(this.state.paymentIntents, "pi", piId);
    if (intent.status !== "requires_capture") throw new Error(`stripe-server: ${piId} is ${intent.status}, not requires_capture`);
    this.cancel(intent, "automatic", CONTROL);
  }

  // ── Disputes

  dispute(piId: string, opts: { amount?: number } = {}): Obj {
    const intent = this.get(this.state.paymentIntents, "pi", piId);
    const charge = intent.latest_charge && this.state.charges.get(intent.latest_charge);
    if (!charge?.captured) throw new Error(`stripe-server: ${piId} has no captured charge to dispute`);
    const created = this.created();
    const dispute = {
      id: newId("dp"),
      object: "dispute",
      amount: opts.amount ?? charge.amount_captured,
      balance_transactions: [],
      charge: charge.id,
      created,
      currency: charge.currency,
      evidence_details: { due_by: created + 7 * 86_400, has_evidence: false, past_due: false, submission_count: 0 },
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      payment_intent: intent.id,
      reason: "fraudulent",
      status: "needs_response",
    };
    this.state.disputes.set(dispute.id, dispute);
    charge.disputed = true;
    this.emit("charge.dispute.created", dispute, CONTROL);
    return dispute;
  }

  closeDispute(id: string, status: "won" | "lost") {
    const dispute = this.get(this.state.disputes, "dp", id);
    const previous = { status: dispute.status };
    dispute.status = status;
    this.emit("charge.dispute.closed", dispute, CONTROL, { previous });
  }
}

// ─── Routes ──────────────────────────────────────────────────────────────────────────────────

type Handler = (ctx: Ctx, params: Params, id: string) => Obj;

interface Route {
  method: "GET" | "POST" | "DELETE";
  pattern: RegExp;
  handler: Handler;
  /**
   * The top-level parameters accepted (plus `expand`); Stripe refuses any other with
   * "Received unknown parameter". Listed: what this server models, and a few informational ones.
   */
  params: readonly string[];
  /** Accepts the publishable key (what Stripe.js calls, with the intent's client_secret). */
  publishable?: boolean;
  /** Honours `Stripe-Account`; other routes refuse it (direct charges are not modelled). */
  connect?: boolean;
}

type RouteOptions = Partial<Pick<Route, "params" | "publishable" | "connect">>;

function route(method: Route["method"], template: string, handler: Handler, opts: RouteOptions = {}): Route {
  const pattern = new RegExp(`^${template.replace(/:id/, "([^/]+)")}$`);
  return { method, pattern, handler, params: [], ...opts };
}

/** Request parameters removed by 2026-09-30.endive (the SDK's pinned version is later). */
const REMOVED_IN_ENDIVE = new Set(["payment_method_types"]);
const ENDIVE = "2026-09-30";

function checkParams(r: Route, params: Params, apiVersion: string) {
  for (const name of Object.keys(params)) {
    const removed = REMOVED_IN_ENDIVE.has(name) && apiVersion.slice(0, 10) >= ENDIVE;
    if (name !== "expand" && (!r.params.includes(name) || removed)) {
      throw badParam(`Received unknown parameter: ${name}`, { code: "parameter_unknown", param: name });
    }
  }
}

const CUSTOMER_PARAMS = ["address", "description", "email", "metadata", "name", "phone", "preferred_locales", "shipping"];
const INTENT_TYPES = ["allowed_payment_method_types", "automatic_payment_methods", "payment_method_types"];
const PAYMENT_INTENT_PARAMS = [
  ...INTENT_TYPES,
  "amount", "application_fee_amount", "capture_method", "confirm", "currency", "customer", "description", "metadata", "off_session",
  "payment_method", "receipt_email", "return_url", "setup_future_usage", "statement_descriptor", "statement_descriptor_suffix",
  "transfer_data", "transfer_group",
];

function routes(em: Emulator): Route[] {
  return [
    route("POST", "/v1/customers", (_c, p) => em.createCustomer(p), { params: CUSTOMER_PARAMS }),
    route("GET", "/v1/customers/:id", (_c, _p, id) => em.customer(id)),
    route("DELETE", "/v1/customers/:id", (_c, _p, id) => em.deleteCustomer(id)),
    route("POST", "/v1/customers/:id", (_c, p, id) => em.updateCustomer(p, id), { params: [...CUSTOMER_PARAMS, "invoice_settings"] }),
    route("POST", "/v1/setup_intents", (_c, p) => em.createSetupIntent(p), { params: [...INTENT_TYPES, "customer", "description", "metadata", "usage"] }),
    route("GET", "/v1/setup_intents/:id", (c, p, id) => em.setupIntent(c, p, id), { params: ["client_secret"], publishable: true }),
    route("POST", "/v1/setup_intents/:id/confirm", (c, p, id) => em.confirmSetupIntent(c, p, id), { params: ["client_secret", "payment_method", "return_url", "use_stripe_sdk"], publishable: true }),
    route("GET", "/v1/payment_methods/:id", (_c, _p, id) => em.paymentMethod(id)),
    route("POST", "/v1/payment_intents", (c, p) => em.createPaymentIntent(c, p), { params: PAYMENT_INTENT_PARAMS }),
    route("GET", "/v1/payment_intents", (_c, p) => em.listPaymentIntents(p), { params: ["customer", "limit", "starting_after"] }),
    route("GET", "/v1/payment_intents/:id", (c, p, id) => em.paymentIntent(c, p, id), { params: ["client_secret"], publishable: true }),
    route("POST", "/v1/payment_intents/:id/confirm", (c, p, id) => em.confirmPaymentIntent(c, p, id), { params: ["client_secret", "off_session", "payment_method", "return_url", "use_stripe_sdk"], publishable: true }),
    route("POST", "/v1/payment_intents/:id/capture", (c, p, id) => em.capturePaymentIntent(c, p, id), { params: ["amount_to_capture", "application_fee_amount", "metadata"] }),
    route("POST", "/v1/payment_intents/:id/cancel", (c, p, id) => em.cancelPaymentIntent(c, p, id), { params: ["cancellation_reason"] }),
    route("POST", "/v1/refunds", (c, p) => em.createRefund(c, p), { params: ["amount", "charge", "metadata", "payment_intent", "reason", "refund_application_fee", "reverse_transfer"] }),
    route("GET", "/v1/refunds", (_c, p) => em.listRefunds(p), { params: ["charge", "limit", "payment_intent", "starting_after"] }),
    route("GET", "/v1/refunds/:id", (_c, _p, id) => em.refund(id)),
    route("POST", "/v1/accounts", (_c, p) => em.createAccount(p), { params: ["business_profile", "business_type", "capabilities", "controller", "country", "email", "metadata", "type"] }),
    route("GET", "/v1/accounts/:id", (_c, _p, id) => em.account(id), { connect: true }),
    route("POST", "/v1/account_links", (_c, p) => em.createAccountLink(p), { params: ["account", "refresh_url", "return_url", "type"] }),
    route("POST", "/v1/accounts/:id/login_links", (_c, _p, id) => em.createLoginLink(id)),
    route("GET", "/v1/balance", (c) => em.balance(c.account), { connect: true }),
    route("GET", "/v1/payouts", (c, p) => em.listPayouts(c.account, p), { params: ["limit", "starting_after"], connect: true }),
    route("GET", "/v1/events/:id", (_c, _p, id) => em.event(id), { connect: true }),
  ];
}

// ─── Request parsing and authentication ──────────────────────────────────────────────────────

const malformed = (detail: string) => badParam(`Invalid request: ${detail}`);

/** A form body or query string, parsed as Stripe reads the SDK's bracket notation. */
function parseForm(text: string): Params {
  if (!text) return {};
  for (const pair of text.split("&")) {
    if (!pair) continue;
    if (pair.startsWith("=")) throw malformed("a form field has no name.");
    try {
      decodeURIComponent(pair.replace(/\+/g, " "));
    } catch {
      throw malformed("the form body is not valid percent-encoding.");
    }
  }
  try {
    return qs.parse(text, { depth: 10, arrayLimit: 100, strictDepth: true }) as Params;
  } catch {
    throw malformed("the form body nests too deeply.");
  }
}

function requestParams(req: http.IncomingMessage, url: URL, body: string): Params {
  if (req.method !== "POST") return parseForm(url.search.slice(1));
  const contentType = req.headers["content-type"] ?? "";
  if (body && !contentType.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    throw malformed(`unsupported Content-Type ${contentType}. If error persists and you need assistance, please contact support@stripe.com.`);
  }
  return parseForm(body);
}

/** The API key from `Authorization: Bearer <key>` or Basic with the key as the user. */
function apiKeyOf(req: http.IncomingMessage): string | null {
  const header = req.headers.authorization?.trim();
  if (!header) return null;
  const [scheme = "", value = ""] = header.split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return value;
  if (/^basic$/i.test(scheme)) return Buffer.from(value, "base64").toString("utf8").split(":")[0] ?? null;
  return null;
}

const redact = (key: string) => key.slice(0, key.indexOf("_", 3) + 1) + "*".repeat(Math.max(0, key.length - key.indexOf("_", 3) - 5)) + key.slice(-4);

function authError(key: string | null): ApiError {
  const message = key
    ? `Invalid API Key provided: ${redact(key)}`
    : "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";
  return new ApiError(401, { type: "invalid_request_error", message }, false, { "WWW-Authenticate": 'Basic realm="Stripe"' });
}

const header = (req: http.IncomingMessage, name: string) => {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
};

/** Params with sorted keys, so equal parameters compare equal whatever their order. */
function fingerprint(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(fingerprint).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${fingerprint((value as Params)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// ─── `expand[]` ──────────────────────────────────────────────────────────────────────────────

/** Replaces the ids at the dotted `paths` with (copies of) their objects; `data.x` walks a list. */
function expand(body: Obj, paths: string[], lookup: (id: string) => Obj | undefined): Obj {
  if (!paths.length) return body;
  const out = structuredClone(body);
  const walk = (target: unknown, [head, ...rest]: string[]): void => {
    if (head === undefined || !target || typeof target !== "object") return;
    const node = target as Obj;
    if (head === "data" && Array.isArray(node.data)) return node.data.forEach((item: unknown) => walk(item, rest));
    if (!Object.hasOwn(node, head)) return;
    const found = typeof node[head] === "string" ? lookup(node[head]) : undefined;
    if (found) node[head] = structuredClone(found);
    walk(node[head], rest);
  };
  for (const path of paths) walk(out, path.split("."));
  return out;
}

// ─── Faults and stalls ───────────────────────────────────────────────────────────────────────

interface Stall {
  reached: () => void;
  released: Promise<void>;
  release: () => void;
}

function faultReply(kind: "rate_limited" | "api_error"): Reply {
  return kind === "rate_limited"
    ? jsonReply(429, { error: { type: "invalid_request_error", code: "rate_limit", message: "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.", doc_url: "https://stripe.com/docs/error-codes/rate-limit" } })
    : jsonReply(500, { error: { type: "api_error", message: "An unknown error occurred (injected by stripe-server)." } }, { "Stripe-Should-Retry": "true" });
}

// ─── The HTTP front: faults → parse → auth → route → idempotency → execute → reply ──────────

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** Saved under the idempotency key (see ApiError.stored). */
  stored: boolean;
}

const jsonReply = (status: number, body: Obj, headers: Record<string, string> = {}, stored = true): Reply => ({
  status,
  body: JSON.stringify(body, null, 2),
  headers,
  stored,
});

const errorReply = (e: ApiError) => jsonReply(e.status, { error: e.error }, e.headers, e.stored);

interface IdempotencyRecord {
  method: string;
  path: string;
  fingerprint: string;
  requestId: string;
  reply: Reply | null; // null while the first request is still executing
}

interface Keys {
  secretKey: string;
  publishableKey: string;
}

function frontEnd(em: Emulator, keys: Keys, log: RequestLogEntry[], faults: Rules<FaultKind>, stalls: Rules<Stall>) {
  const table = routes(em);
  const idempotency = new Map<string, IdempotencyRecord>();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "http://stripe.local");
    const method = (req.method ?? "GET").toUpperCase();
    const entry: RequestLogEntry = {
      method,
      path: url.pathname,
      params: {},
      idempotencyKey: header(req, "idempotency-key"),
      stripeAccount: header(req, "stripe-account"),
      status: 0,
      replayed: false,
      fault: faults.take(method, url.pathname),
      requestId: `req_${randomText(14)}`,
    };
    log.push(entry);
    if (entry.fault === "unreachable") return void req.socket.destroy();
    const reply = entry.fault === "rate_limited" || entry.fault === "api_error" ? faultReply(entry.fault) : await processRequest(req, url, body, entry);
    entry.status = reply.status;
    if (entry.fault === "lost_response") return void req.socket.destroy();
    send(res, reply, entry, header(req, "stripe-version"));
  }

  async function processRequest(req: http.IncomingMessage, url: URL, body: string, entry: RequestLogEntry): Promise<Reply> {
    try {
      const key = apiKeyOf(req);
      const publishable = key === keys.publishableKey;
      if (key !== keys.secretKey && !publishable) throw authError(key);
      const params = requestParams(req, url, body);
      entry.params = params;
      const found = findRoute(entry.method, entry.path);
      if (publishable && !found.route.publishable) {
        throw new ApiError(401, { type: "invalid_request_error", message: "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys." }, false);
      }
      const apiVersion = header(req, "stripe-version") ?? Stripe.API_VERSION;
      checkParams(found.route, params, apiVersion);
      const account = connectedAccount(found.route, entry.stripeAccount);
      const ctx: Ctx = { requestId: entry.requestId, idempotencyKey: entry.idempotencyKey, account, publishable, apiVersion };
      const run = () => execute(found.route, ctx, params, found.id, entry);
      if (entry.method !== "POST" || !entry.idempotencyKey) return await run();
      return await idempotent(entry, fingerprint(params), run);
    } catch (e) {
      if (e instanceof ApiError) return errorReply(e);
      return jsonReply(500, { error: { type: "api_error", message: `stripe-server bug: ${(e as Error).stack ?? e}` } }, {}, false);
    }
  }

  function findRoute(method: string, path: string): { route: Route; id: string } {
    for (const r of table) {
      const m = r.method === method ? r.pattern.exec(path) : null;
      if (m) return { route: r, id: decodeURIComponent(m[1] ?? "") };
    }
    throw invalidRequest(`Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`, {}, 404);
  }

  /** `Stripe-Account`: an existing connected account, on a route that honours it. */
  function connectedAccount(r: Route, account: string | null): string | null {
    if (!account) return null;
    if (!em.state.accounts.has(account)) {
      throw new ApiError(403, { type: "invalid_request_error", code: "account_invalid", message: `The provided key '${redact(keys.secretKey)}' does not have access to account '${account}' (or that account does not exist). Application access may have been revoked.` }, false);
    }
    if (!r.connect) throw badParam("stripe-server models this endpoint on the platform account only; requests with Stripe-Account (direct charges) are not modelled.");
    return account;
  }

  /** Stripe's idempotency: replay a finished request, refuse a different or concurrent one. */
  async function idempotent(entry: RequestLogEntry, print: string, run: () => Promise<Reply>): Promise<Reply> {
    const key = entry.idempotencyKey!;
    const scope = `${entry.stripeAccount ?? ""} ${key}`;
    const record = idempotency.get(scope);
    if (record) {
      if (record.method !== entry.method || record.path !== entry.path) {
        throw new ApiError(400, { type: "idempotency_error", message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${record.method} ${record.path}' vs '${entry.method} ${entry.path}'). Try using a key other than '${key}' if you meant to execute a different request.` }, false);
      }
      if (record.fingerprint !== print) {
        throw new ApiError(400, { type: "idempotency_error", message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.` }, false);
      }
      if (!record.reply) {
        throw new ApiError(409, { type: "idempotency_error", code: "idempotency_key_in_use", message: `There is currently another in-progress request using this Stripe-Idempotency-Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.` }, false);
      }
      entry.replayed = true;
      return { ...record.reply, headers: { ...record.reply.headers, "Idempotent-Replayed": "true", "Original-Request": record.requestId } };
    }
    const claim: IdempotencyRecord = { method: entry.method, path: entry.path, fingerprint: print, requestId: entry.requestId, reply: null };
    idempotency.set(scope, claim);
    let reply: Reply | undefined;
    try {
      reply = await run();
      return reply;
    } finally {
      if (reply?.stored) claim.reply = reply;
      else idempotency.delete(scope);
    }
  }

  async function execute(r: Route, ctx: Ctx, params: Params, id: string, entry: RequestLogEntry): Promise<Reply> {
    const stall = stalls.take(entry.method, entry.path);
    if (stall) {
      stall.reached();
      await stall.released;
    }
    try {
      const expansions = optStrList(params, "expand") ?? [];
      const result = r.handler(ctx, params, id);
      return jsonReply(200, expand(result, expansions, (x) => em.lookup(x)));
    } catch (e) {
      if (e instanceof ApiError) return errorReply(e);
      throw e;
    }
  }

  function send(res: http.ServerResponse, reply: Reply, entry: RequestLogEntry, stripeVersion: string | null) {
    res.writeHead(reply.status, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(reply.body),
      "Request-Id": entry.requestId,
      "Stripe-Version": stripeVersion ?? Stripe.API_VERSION,
      ...(entry.method === "POST" && entry.idempotencyKey ? { "Idempotency-Key": entry.idempotencyKey } : {}),
      ...(entry.stripeAccount ? { "Stripe-Account": entry.stripeAccount } : {}),
      ...reply.headers,
    });
    res.end(reply.body);
  }

  return handle;
}

// ─── Webhooks: signed by hand, as Stripe documents it ────────────────────────────────────────

/** Hex HMAC-SHA256 of `${t}.${payload}` keyed with the whole `whsec_…` string. */
export function signWebhookPayload(payload: string, timestamp: number, secret: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
}

function signatureHeader(payload: string, timestamp: number, secret: string, extra: string[]): string {
  const v1 = [secret, ...extra].map((s) => (s === secret || s.startsWith("whsec_") ? signWebhookPayload(payload, timestamp, s) : s));
  // Test-mode deliveries also carry a v0 entry (another scheme the verifier must ignore).
  const v0 = signWebhookPayload(payload, timestamp, `whsec_v0_${randomText()}`);
  return [`t=${timestamp}`, ...v1.map((s) => `v1=${s}`), `v0=${v0}`].join(",");
}

function postJson(url: string, payload: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent: false, headers: { ...headers, "Content-Length": String(Buffer.byteLength(payload)) } }, (res) => {
      readBody(res).then((body) => resolve({ status: res.statusCode ?? 0, body }), reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

// ─── Start ───────────────────────────────────────────────────────────────────────────────────

export async function startStripeServer(opts: { now?: () => number } = {}): Promise<StripeServer> {
  const now = opts.now ?? Date.now;
  const keys = { secretKey: `sk_test_local_${randomText()}`, publishableKey: `pk_test_local_${randomText()}` };
  const webhookSecret = `whsec_${randomText(32)}`;
  const log: RequestLogEntry[] = [];
  const faults = new Rules<FaultKind>();
  const stalls = new Rules<Stall>();

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const em = new Emulator(now, url);
  const handle = frontEnd(em, keys, log, faults, stalls);
  server.on("request", (req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });

  return {
    url,
    port,
    ...keys,
    webhookSecret,
    requests: log,
    events: em.events as Stripe.Event[],
    state: em.state as unknown as StripeState,
    fail: (count, kind, match = {}) => faults.add(match, count, kind),
    stall(match = {}) {
      let reached!: () => void;
      let release!: () => void;
      const reachedP = new Promise<void>((r) => (reached = r));
      const released = new Promise<void>((r) => (release = r));
      stalls.add(match, 1, { reached, released, release });
      return { reached: reachedP, release };
    },
    authenticate: (id) => em.authenticate(id),
    completeOnboarding: (id) => em.completeOnboarding(id),
    restrictAccount: (id) => em.restrictAccount(id),
    releaseFunds: (id) => em.releaseFunds(id),
    payout: (id, o) => em.payout(id, o) as Stripe.Payout,
    expireAuthorization: (id) => em.expireAuthorization(id),
    dispute: (id, o) => em.dispute(id, o) as Stripe.Dispute,
    closeDispute: (id, status) => em.closeDispute(id, status),
    deliver(target, event, o = {}) {
      const payload = JSON.stringify(event, null, 2);
      const timestamp = o.timestamp ?? Math.floor(now() / 1000);
      return postJson(target, payload, {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Stripe-Signature": signatureHeader(payload, timestamp, o.secret ?? webhookSecret, o.extraSignatures ?? []),
      });
    },
    async close() {
      for (const stall of stalls.values()) stall.release();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
