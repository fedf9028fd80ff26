// Payment history (SPEC 4.9): charges for guests, earnings (gross, fee, net) for hosts.
import type { FastifyInstance } from "fastify";
import { implement } from "../../contract/routes.ts";
import { pageLimit } from "../../domain/pagination.ts";

export default async function paymentRoutes(app: FastifyInstance) {
  implement(app, "getPaymentHistory", async (req) => {
    const { type, limit, cursor } = req.query;
    return app.calling.payments.history(req.principal, { type, limit: pageLimit(limit), cursor });
  });
}
