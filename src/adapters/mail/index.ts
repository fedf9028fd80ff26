// Chooses the mail driver from the configuration, and decouples delivery from the request: a
// request only queues its mail (or the work that leads to it), so the answer never waits on, or
// reveals by its timing, what happens next. Failures are logged; `idle()` resolves when everything
// queued has been handled (shutdown, tests).
import type { Clock } from "../../domain/ports/clock.ts";
import type { MailMessage, Mailer } from "../../domain/ports/mail.ts";
import { noMetrics, type Metrics } from "../../domain/ports/metrics.ts";
import { outboxMailer } from "./outbox.ts";
import { smtpMailer } from "./smtp.ts";

export type { MailMessage, Mailer };

export function mailerFromConfig(cfg: { dataDir: string; mail: { url: string | undefined; from: string } }, clock: Clock): Mailer {
  return cfg.mail.url ? smtpMailer(cfg.mail.url, cfg.mail.from) : outboxMailer(cfg.dataDir, cfg.mail.from, clock);
}

export interface MailQueue {
  /** Queues a message; never throws, never waits for delivery. */
  enqueue(message: MailMessage): void;
  /** Runs work after the answer (e.g. the lookups of a password-reset request); failures are logged. */
  later(task: () => Promise<void>): void;
  /** Resolves when every queued message and task has finished or failed. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function mailQueue(mailer: Mailer, onError: (err: unknown, what: string) => void, metrics: Pick<Metrics, "mail"> = noMetrics): MailQueue {
  const pending = new Set<Promise<void>>();
  const track = (task: () => Promise<void>, what: string) => {
    const p: Promise<void> = Promise.resolve()
      .then(task)
      .catch((err) => onError(err, what))
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const idle = async () => {
    while (pending.size > 0) await Promise.all([...pending]);
  };
  return {
    enqueue: (message) => {
      metrics.mail("queued");
      track(async () => {
        try {
          await mailer.send(message);
        } catch (err) {
          metrics.mail("failed");
          throw err;
        }
      }, "mail delivery failed");
    },
    later: (task) => track(task, "background task failed"),
    idle,
    async close() {
      await idle();
      await mailer.close?.();
    },
  };
}
