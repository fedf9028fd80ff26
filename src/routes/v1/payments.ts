// Payments (docs/billing.md, "Payment history"): saving a card, the payment history, a host's
// connected account, earnings and payouts, and refunds by an admin.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { pathId } from "../../domain/ids.ts";
import { parseCents } from "../../domain/money.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { requireRole } from "../../plugins/auth.ts";
import { idempotent } from "../../plugins/idempotency.ts";
import { connectStatusView, earningsView, pageView, paymentEntryView, payoutView, refundView, setupIntentView } from "./views.ts";

export default async function paymentRoutes(app: FastifyInstance) {
  const { payments, connect } = app.services;

  implement(app, "createSetupIntent", async (req, reply) => reply.code(201).send(setupIntentView(await payments.setupIntent(req.principal))));
  implement(app, "createGuestSetupIntent", async (req, reply) => reply.code(201).send(setupIntentView(await payments.setupIntent(req.principal))));

  implement(app, "getPaymentHistory", async (req) => {
    const { type, limit, cursor } = req.query;
    return pageView(await payments.history(req.principal, { type, limit: pageLimit(limit), cursor }), paymentEntryView);
  });

  // A host's own account, earnings and payouts.
  const host = (req: { principal: Parameters<typeof requireRole>[0] }) => {
    requireRole(req.principal, "host");
    return req.principal.id;
  };
  implement(app, "getConnectStatus", async (req) => connectStatusView(await connect.status(host(req))));
  implement(app, "createConnectOnboarding", async (req) => ({ url: await connect.onboardingLink(host(req)) }));
  implement(app, "createConnectDashboardLink", async (req) => ({ url: await connect.dashboardLink(host(req)) }));
  implement(app, "getEarnings", async (req) => earningsView(await payments.earnings(host(req))));
  implement(app, "listPayouts", async (req) =>
    pageView(await payments.payouts(host(req), { limit: pageLimit(req.query.limit), cursor: req.query.cursor }), payoutView),
  );

  implement(
    app,
    "refundPayment",
    async (req, reply) => {
      requireRole(req.principal, "admin");
      const key = String(req.headers["x-idempotency-key"]).toLowerCase();
      const { amount, reason } = req.body;
      const amountCents = amount === undefined ? undefined : (parseCents(amount) ?? NaN);
      const by = { actor: { kind: "user" as const, id: req.principal.id }, requestId: req.id };
      return reply.code(201).send({ refund: refundView(await payments.refund(pathId(req.params.id), { amountCents, reason }, key, by)) });
    },
    { route: idempotent(app) },
  );
}
