// The metrics port: what the service counts for its operators. The domain, the mail queue and the
// rate limits report events here and never see the metrics library; the Prometheus adapter
// (src/adapters/metrics/prometheus.ts) counts them when METRICS_PORT is set, and noMetrics
// otherwise. Labels take values from short fixed lists, so that every series stays bounded.

export type CallFinalStatus = "completed" | "cancelled" | "failed";

export interface Metrics {
  /** A call reached its final status: once per call (a call that failed on a capture and then completed counts as completed). */
  callFinished(status: CallFinalStatus, reason: string): void;
  /**
   * The provider's answer to a hold request: placed, declined (the card, or a refusal), waiting for
   * the payer (3-D Secure: not a decline, the payer may complete it), or failed (unreachable, an error).
   */
  hold(outcome: "placed" | "declined" | "action_required" | "failed"): void;
  /** The provider's answer to a capture request, and the cents taken when captured; expired: the hold is gone, nothing can be taken. */
  capture(outcome: "captured" | "failed" | "expired", amountCents: number): void;
  /** A webhook delivery: applied, a repeat of one applied, applying it failed (delivered again), or refused (signature, body). */
  webhookEvent(type: string, outcome: "processed" | "duplicate" | "failed" | "rejected"): void;
  /** A mail queued for delivery, or one whose delivery failed. */
  mail(outcome: "queued" | "failed"): void;
  /** A request refused by a rate-limit policy (429). */
  rateLimited(policy: string): void;
}

export const noMetrics: Metrics = {
  callFinished: () => {},
  hold: () => {},
  capture: () => {},
  webhookEvent: () => {},
  mail: () => {},
  rateLimited: () => {},
};
