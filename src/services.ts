// The service container: every domain service, built from the configuration and the ports (database,
// clock, storage, mail, payments, pub/sub). app.ts decorates the result as `app.services`; route
// plugins and tests reach the domain only through it. It also runs the instance's background work:
// the lease heartbeat, the billing engine's ticker and the signaling hub's liveness sweep.
import type { Config } from "./config.ts";
import { fromUlid } from "./domain/ids.ts";
import type { FrameParser } from "./contract/asyncapi.ts";
import type { Db, Sql } from "./db/client.ts";
import type { Clock } from "./domain/ports/clock.ts";
import type { MailMessage } from "./domain/ports/mail.ts";
import { noMetrics, type Metrics } from "./domain/ports/metrics.ts";
import type { Storage } from "./domain/ports/storage.ts";
import { accounts, type Accounts } from "./domain/accounts.ts";
import { audit, type Audit } from "./domain/audit.ts";
import { userDirectory, type Directory } from "./domain/directory.ts";
import { identityService, type IdentityService } from "./domain/identity.ts";
import { mediaService, type MediaService } from "./domain/media.ts";
import type { Passwords } from "./domain/passwords.ts";
import { tokenStore } from "./domain/tokens.ts";
import type { PaymentProvider } from "./domain/ports/payments.ts";
import { simulatedPayments } from "./adapters/payments/simulated.ts";
import { stripePayments } from "./adapters/payments/stripe.ts";
import { countedPayments } from "./adapters/payments/counted.ts";
import type { PubSub } from "./domain/ports/pubsub.ts";
import { MemoryPubSub } from "./adapters/pubsub/memory.ts";
import { billingEngine, type BillingEngine } from "./domain/billing.ts";
import { calls, type Calls } from "./domain/calls.ts";
import { connect, type Connect } from "./domain/connect.ts";
import { instanceLease, type InstanceLease } from "./domain/instances.ts";
import { links, type Links } from "./domain/links.ts";
import { payments, type Payments } from "./domain/payments.ts";
import { webhooks, type Webhooks } from "./domain/webhooks.ts";
import { callNotices, moneyNotices, notifications, type CallNotices, type Notifications } from "./domain/notifications.ts";
import { personalData, type PersonalData } from "./domain/personal-data.ts";
import { vonageAccounts, type VonageAccounts } from "./domain/vonage-accounts.ts";
import type { VonageUsers } from "./domain/ports/vonage-users.ts";
import { vonageUsers } from "./adapters/vonage/users.ts";
import { EventStreams } from "./routes/v1/event-streams.ts";
import { SignalingHub } from "./routes/ws/hub.ts";

export interface ServiceOverrides {
  /** Replace the payment provider (default: from PAYMENTS_PROVIDER). */
  payments?: PaymentProvider;
  /** Share one pub/sub between app instances (tests of cross-instance delivery). */
  pubsub?: PubSub;
  /** Real-time period of the engine's ticker in ms (default 1000; 0 = no interval, tests call tick()). */
  tickIntervalMs?: number;
  /** How long an end request waits for the call's settlement before answering 202 (real ms, default 5000). */
  endWaitMs?: number;
  /** Vonage mode: replace the Users API client (default: VONAGE_API_BASE, the application's key). */
  vonageUsers?: VonageUsers;
}

export interface Services {
  accounts: Accounts;
  /** The append-only audit log: role changes, refunds, account deletions, key rotations. */
  audit: Audit;
  media: MediaService;
  identity: IdentityService;
  /** The V-app user list, kept in memory per instance (kept in step across instances by pub/sub). */
  directory: Directory;
  links: Links;
  calls: Calls;
  payments: Payments;
  connect: Connect;
  /** The payment provider's webhook events, each applied once. */
  webhooks: Webhooks;
  /** An account's data: its export, and its deletion. */
  personalData: PersonalData;
  /** Vonage mode only: the accounts' users at Vonage (provisioning, and the tasks that keep them in step). */
  vonage: VonageAccounts | undefined;
  billing: BillingEngine;
  signaling: SignalingHub;
  notifications: Notifications;
  /** The live channel's streams held by this instance (GET /v1/events). */
  events: EventStreams;
  provider: PaymentProvider;
  instance: InstanceLease;
  /**
   * Takes this instance's lease, records a signing-key rotation in the audit log (when the key is
   * not the one the last start saw) and joins the directory's pub/sub channel; before any
   * connection is accepted.
   */
  start(): Promise<void>;
  /**
   * Renews the instance lease and reaps connections of dead instances (when due), then runs the
   * billing schedule's work that is due at clock.now() (tests call it after moving the clock).
   */
  tick(): Promise<number>;
  /** Stops the ticker, closes the sockets (1001) and waits for in-flight work. */
  stop(): Promise<void>;
  /** Leaves the directory's pub/sub channel (after stop(), before the database closes). */
  close(): Promise<void>;
}

type Log = { info(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void };

/** The provider PAYMENTS_PROVIDER names (config.ts checked its keys). */
export function paymentProvider(config: Config, sql: Sql, clock: Clock): PaymentProvider {
  const p = config.payments;
  if (p.provider === "simulated") return simulatedPayments(sql, clock, config.publicUrl);
  return stripePayments({
    secretKey: p.stripeSecretKey!,
    publishableKey: p.stripePublishableKey!,
    webhookSecrets: [p.stripeWebhookSecret!, ...(p.stripeConnectWebhookSecret ? [p.stripeConnectWebhookSecret] : [])],
    ...(p.stripeApiBase ? { apiBase: p.stripeApiBase } : {}),
    now: () => clock.now(),
  });
}

export function buildServices(deps: {
  db: Db;
  sql: Sql;
  clock: Clock;
  config: Config;
  storage: Storage;
  passwords: Passwords;
  /** Queues a mail for background delivery; `later` runs work after the response (mail.later). */
  sendMail(m: MailMessage): void;
  later(task: () => Promise<void>): void;
  turnSecret: string;
  /** The kid of the key this instance signs tokens with (keyring.current.kid). */
  signingKid: string;
  /** Validates signaling frames (from asyncapi.yaml). */
  parseFrame: FrameParser;
  log: Log;
  /** The configured pub/sub (Redis when REDIS_URL is set); without one the directory is this instance's alone and signaling is in-process. */
  pubsub?: PubSub;
  /** What the services count for the operators (default: nothing). */
  metrics?: Metrics;
  /** Vonage mode: the application (its id, its key) whose Users API holds the V-app's users. */
  vonageApplication?: { id: string; key: { privateKeyPem: string } } | undefined;
  overrides: ServiceOverrides;
}): Services {
  const { db, sql, clock, config, log, overrides } = deps;
  const metrics = deps.metrics ?? noMetrics;
  const sharedPubsub = overrides.pubsub ?? deps.pubsub;
  const media = mediaService(deps.storage, clock);
  const directory = userDirectory({ db, sql, log });
  const auditLog = audit({ db, sql, clock });
  const application = deps.vonageApplication;
  const vonage = application
    ? vonageAccounts({
        db,
        sql,
        clock,
        users:
          overrides.vonageUsers ??
          vonageUsers({ applicationId: application.id, privateKeyPem: application.key.privateKeyPem, apiBase: config.vonage.apiBase, now: () => clock.now() }),
        imageUrl: (key) => media.url(key),
        log,
      })
    : undefined;
  const accountService = accounts({ db, sql, clock, passwords: deps.passwords, media, directory, audit: auditLog, vonage });
  const identity = identityService({
    accounts: accountService,
    tokens: tokenStore({ db, clock }),
    sendMail: deps.sendMail,
    later: deps.later,
    guestTokenTtlSeconds: config.guestTokenTtlSeconds,
  });
  const provider = countedPayments(overrides.payments ?? paymentProvider(config, sql, clock), metrics);
  const pubsub = sharedPubsub ?? new MemoryPubSub();
  const instance = instanceLease(db, clock);
  let hub: SignalingHub | undefined;
  const notificationService = notifications({ db, clock, pubsub, log });
  const stored = callNotices({ db, clock, n: notificationService, sendMail: deps.sendMail });
  const notices: CallNotices = {
    ...stored,
    // A notice that cannot be stored (a database outage) must not fail the initiate it is about;
    // the e-mail ring a few seconds later still tells the host (a billing task, retried).
    incoming: (call, link) => stored.incoming(call, link).catch((err) => log.error({ err, call: call.id }, "notification call_incoming not stored")),
  };
  const events = new EventStreams({
    clock,
    pubsub,
    notifications: notificationService,
    log,
    // A host whose live stream received call_incoming has been told: the waiting call has rung.
    delivered: (n) => {
      const callId = n.type === "call_incoming" ? fromUlid(String((n.data as { call_id?: unknown }).call_id)) : null;
      if (callId) callService.markNotified(callId).catch((err) => log.error({ err, call: callId }, "call not marked as rung"));
    },
    accountExists: async (userId) => (await accountService.byId(userId)) !== null,
  });
  const billing = billingEngine({
    db,
    sql,
    clock,
    provider,
    notices,
    // Best effort: a notice that cannot be published (Redis unreachable) must not fail the billing step.
    notify: (callId, event) => hub!.notify(callId, event).catch((err) => log.warn({ err, callId, event: event.type }, "signaling: notice not delivered")),
    log: { error: (obj, msg) => log.error(obj, msg) },
    parallelism: config.payments.billingParallelism,
    metrics,
  });
  const linkService = links({ db, sql, clock });
  // Where the provider's onboarding sends a host back (openapi.yaml, createConnectOnboarding).
  const onboardingUrls = { returnUrl: `${config.publicUrl}/host?connect=return`, refreshUrl: `${config.publicUrl}/host?connect=refresh` };
  const connectService = connect({ db, clock, provider, onboardingUrls });
  const money = moneyNotices({ db, n: notificationService });
  const paymentService = payments({
    db,
    clock,
    provider,
    connect: connectService,
    availableAfterMs: config.payments.availableAfterMs,
    audit: auditLog,
    // The refund is made and recorded: a notice that cannot be stored must not answer 500 (a
    // retried request finds the refund done and tells no one). The webhook path retries instead.
    notices: { refunded: (r) => money.refunded(r).catch((err) => log.error({ err, refund: r.id }, "notification refund_issued not stored")) },
  });
  const callService = calls({
    db,
    clock,
    links: linkService,
    billing,
    provider,
    connect: connectService,
    customerOf: paymentService.customerOf,
    turn: { urls: config.turn.urls, secret: deps.turnSecret, ttlSeconds: config.turn.ttlSeconds },
    notices,
    metrics,
    ...(overrides.endWaitMs !== undefined ? { endWaitMs: overrides.endWaitMs } : {}),
  });
  const personalDataService = personalData({
    db,
    clock,
    passwords: deps.passwords,
    media,
    provider,
    calls: callService,
    audit: auditLog,
    pubsub,
    directory,
    vonage,
    log,
  });
  hub = new SignalingHub({
    parseFrame: deps.parseFrame,
    clock,
    pubsub,
    presence: callService,
    connectionId: instance.connectionId,
    log: { warn: (o, m) => log.warn(o, m), error: (o, m) => log.error(o, m) },
  });
  const signaling = hub;
  let stopped = false;

  /**
   * Lease and presence, every heartbeat: connections held by instances that stopped beating are
   * reaped, and so are this instance's own records of sockets it no longer holds (a close whose
   * presence update failed, e.g. in a database outage). The other way round, sockets this instance
   * still holds whose records were reaped (its own lease lapsed: a stall, a database outage) are
   * recorded again before their reconnect deadline ends the call.
   */
  async function keepPresence() {
    if (!(await instance.beat())) return;
    if (instance.lapsed) log.warn({ instance: instance.id }, "instance lease had lapsed: its connections may have been reaped, their presence is recorded again");
    for (const { callId, role } of await callService.reapOrphanedConnections()) await signaling.peerLeft(callId, role);
    for (const { callId, role, connId } of await callService.connectionsOf(instance.id)) {
      if (signaling.holds(callId, connId)) continue;
      if (await callService.disconnected(callId, role, connId, new Date(clock.now()))) await signaling.peerLeft(callId, role);
    }
    await signaling.reassert();
  }
  // One heartbeat at a time: a tick asked for while one is under way (a slow database) shares it.
  let beating: Promise<void> | undefined;
  const tick = async () => {
    beating ??= keepPresence()
      .catch((err) => log.error({ err }, "instance heartbeat failed"))
      .finally(() => (beating = undefined));
    await beating;
    // In the background: Vonage's answers must not hold up the billing schedule.
    vonage?.kick();
    return billing.tick();
  };
  const period = overrides.tickIntervalMs ?? 1000;
  const timer =
    period > 0
      ? setInterval(() => {
          if (stopped) return;
          try {
            signaling.sweep(); // liveness: pings and pong deadlines (same clock)
            events.sweep(); // heartbeats and expired tokens of the live channel
          } catch (err) {
            log.error({ err }, "liveness sweep failed");
          }
          tick().catch((err) => log.error({ err }, "billing tick failed"));
        }, period)
      : undefined;
  timer?.unref();
  return {
    accounts: accountService,
    audit: auditLog,
    media,
    identity,
    directory,
    links: linkService,
    calls: callService,
    payments: paymentService,
    notifications: notificationService,
    events,
    connect: connectService,
    personalData: personalDataService,
    vonage,
    webhooks: webhooks({ db, sql, clock, provider, notices: money, log, metrics }),
    billing,
    signaling,
    provider,
    instance,
    async start() {
      await instance.beat(true);
      // Not recorded (a database fault): the start goes on, and the next start records it.
      await auditLog.signingKeyInUse(deps.signingKid).then(
        (rotated) => rotated && log.info({ kid: deps.signingKid }, "signing key rotated: recorded in the audit log"),
        (err) => log.error({ err, kid: deps.signingKid }, "signing key rotation not recorded in the audit log"),
      );
      if (sharedPubsub) await directory.listen(sharedPubsub);
      if (!vonage) {
        // Written by the users trigger for accounts linked while the mode was on; only Vonage mode runs them.
        const [{ waiting }] = (await sql.query<{ waiting: number }>(`SELECT count(*)::int AS "waiting" FROM "vonage_tasks"`, [])) as [{ waiting: number }];
        if (waiting > 0) log.warn({ waiting }, "Vonage tasks wait for Vonage mode (VONAGE_APPLICATION_ID): changes and deleted accounts' users are not sent to Vonage meanwhile");
      }
    },
    tick,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      await billing.idle();
      await signaling.shutdown();
      await events.close();
      await billing.idle();
      await vonage?.close();
      // Every connection of this instance has been recorded as closed: the lease is given up.
      await instance.release().catch((err) => log.error({ err }, "instance lease release failed"));
    },
    close: () => directory.close(),
  };
}
