// Payments (SPEC 4.9, issue 9): saving a card, the payment history, a host's connected account,
// earnings and payouts, and refunds by an admin.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { AppError } from "../../domain/errors.ts";
import { fromUlid } from "../../domain/ids.ts";
import { pageLimit } from "../../domain/pagination.ts";
import { requireRole } from "../../plugins/auth.ts";
import { idempotent } from "../../plugins/idempotency.ts";

export default async function paymentRoutes(app: FastifyInstance) {
  const { payments, connect } = app.calling;

  implement(app, "createSetupIntent", async (req, reply) => reply.code(201).send(await payments.setupIntent(req.principal)));
  implement(app, "createGuestSetupIntent", async (req, reply) => reply.code(201).send(await payments.setupIntent(req.principal)));

  implement(app, "getPaymentHistory", async (req) => {
    const { type, limit, cursor } = req.query;
    return payments.history(req.principal, { type, limit: pageLimit(limit), cursor });
  });

  implement(app, "getConnectStatus", async (req) => {
    requireRole(req.principal, "host");
    return connect.status(req.principal.id);
  });

  implement(app, "createConnectOnboarding", async (req) => {
    requireRole(req.principal, "host");
    return connect.onboardingLink(req.principal.id);
  });

  implement(app, "createConnectDashboardLink", async (req) => {
    requireRole(req.principal, "host");
    return connect.dashboardLink(req.principal.id);
  });

  implement(app, "getEarnings", async (req) => {
    requireRole(req.principal, "host");
    return payments.earnings(req.principal.id);
  });

  implement(app, "listPayouts", async (req) => {
    requireRole(req.principal, "host");
    return payments.payouts(req.principal.id, { limit: pageLimit(req.query.limit), cursor: req.query.cursor });
  });

  implement(
    app,
    "refundPayment",
    async (req, reply) => {
      requireRole(req.principal, "admin");
      const id = fromUlid(req.params.id);
      if (!id) throw new AppError("not_found");
      const key = String(req.headers["x-idempotency-key"]).toLowerCase();
      return reply.code(201).send(await payments.refund(id, req.body, key));
    },
    { route: idempotent(app) },
  );
}
