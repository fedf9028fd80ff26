// Wiring of the paid-call parts (issue 4), used by app.ts: the payment provider, pub/sub, the
// billing engine and its ticker, the signaling hub, and the link/call/payment services.
import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import type { Clock } from "./domain/clock.ts";
import type { PaymentProvider } from "./adapters/payments/port.ts";
import { simulatedPayments } from "./adapters/payments/simulated.ts";
import type { PubSub } from "./adapters/pubsub/port.ts";
import { MemoryPubSub } from "./adapters/pubsub/memory.ts";
import { billingEngine, type BillingEngine } from "./domain/billing.ts";
import { calls, type Calls } from "./domain/calls.ts";
import { links, type Links } from "./domain/links.ts";
import { payments } from "./domain/payments.ts";
import { SignalingHub } from "./routes/ws/hub.ts";

export interface CallingOverrides {
  /** Replace the payment provider (default: from PAYMENTS_PROVIDER). */
  payments?: PaymentProvider;
  /** Share one pub/sub between app instances (tests of cross-instance delivery). */
  pubsub?: PubSub;
  /** Real-time period of the engine's ticker in ms (default 1000; 0 = no interval, tests call tick()). */
  tickIntervalMs?: number;
}

export interface Calling {
  links: Links;
  calls: Calls;
  payments: ReturnType<typeof payments>;
  billing: BillingEngine;
  signaling: SignalingHub;
  provider: PaymentProvider;
  /** Runs the billing schedule's work that is due at clock.now() (tests call it after moving the clock). */
  tick(): Promise<number>;
  /** Stops the ticker, closes the sockets (1001) and waits for in-flight work. */
  stop(): Promise<void>;
}

type Log = { warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void };

export function calling(deps: { db: Db; clock: Clock; config: Config; turnSecret: string; log: Log; overrides: CallingOverrides }): Calling {
  const { db, clock, config, log, overrides } = deps;
  const provider = overrides.payments ?? simulatedPayments(db, clock);
  const pubsub = overrides.pubsub ?? new MemoryPubSub();
  let hub: SignalingHub | undefined;
  const billing = billingEngine({
    db,
    clock,
    provider,
    notify: (callId, event) => hub!.notify(callId, event),
    log: { error: (obj, msg) => log.error(obj, msg) },
  });
  hub = new SignalingHub({ db, clock, pubsub, billing, log: { warn: (o, m) => log.warn(o, m), error: (o, m) => log.error(o, m) } });
  const linkService = links({ db, clock, publicUrl: config.publicUrl });
  const callService = calls({
    db,
    clock,
    links: linkService,
    billing,
    provider,
    turn: { urls: config.turn.urls, secret: deps.turnSecret, ttlSeconds: config.turn.ttlSeconds },
  });
  const signaling = hub;
  let stopped = false;
  const tick = () => billing.tick();
  const period = overrides.tickIntervalMs ?? 1000;
  const timer =
    period > 0
      ? setInterval(() => {
          if (stopped) return;
          signaling.sweep(); // liveness: pings and pong deadlines (same clock)
          tick().catch((err) => log.error({ err }, "billing tick failed"));
        }, period)
      : undefined;
  timer?.unref();
  return {
    links: linkService,
    calls: callService,
    payments: payments({ db }),
    billing,
    signaling,
    provider,
    tick,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      await billing.idle();
      await signaling.shutdown();
      await billing.idle();
    },
  };
}
