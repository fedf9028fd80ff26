// Payments as people see them (docs/billing.md, "Payment history"): saving a card (the payer's
// customer and a card-saving session), the history of charges, earnings, refunds and disputes, a
// host's earnings and payouts, and refunds by an admin. Amounts are integer cents inside, strings
// outside.
import type { Db } from "../db/client.ts";
import type { Capture, Dispute, Payout, Prisma, Refund } from "../db/generated/client.ts";
import type { Audit, AuditActor } from "./audit.ts";
import type { PaymentProvider, RefundResult } from "./ports/payments.ts";
import type { PrincipalRef } from "./principal.ts";
import type { Clock } from "./ports/clock.ts";
import type { Connect } from "./connect.ts";
import { AppError, unknownCaller } from "./errors.ts";
import { uuidv7 } from "./ids.ts";
import { formatCents } from "./money.ts";
import { afterCursor, newestFirst, toPage, type Page, type SortKey } from "./pagination.ts";
import type { MoneyNotices } from "./notifications.ts";

export type RefundReason = "requested_by_customer" | "duplicate" | "fraudulent";
/** A refund's status at the provider. */
export type RefundStatus = "pending" | "succeeded" | "failed" | "canceled" | "requires_action";
/** Dispute statuses in which the money is not (or no longer) the host's. */
const DISPUTED = ["warning_needs_response", "warning_under_review", "needs_response", "under_review", "lost"];
/** Refunds that gave (or are giving) money back. */
const REFUNDING: string[] = ["pending", "succeeded", "requires_action"] satisfies RefundStatus[];

/** The part of a capture's fee given back when `refundedCents` of it are refunded in all: in proportion, half up. */
const feeRefunded = (c: Pick<Capture, "grossCents" | "feeCents">, refundedCents: number) =>
  c.grossCents === 0 ? 0 : Math.floor((2 * c.feeCents * refundedCents + c.grossCents) / (2 * c.grossCents));

/**
 * Records a refund of a capture once (by the provider's id), or updates its status. Its share of
 * the fee is computed on the running total, so that several partial refunds never give back more
 * than the whole fee (each refund's own rounding would); the host's transfer is reversed by the rest.
 */
export async function recordRefund(db: Db, clock: Clock, capture: Capture, r: RefundResult, notices: Pick<MoneyNotices, "refunded">): Promise<Refund> {
  const row = await storeRefund(db, clock, capture, r);
  await notices.refunded(row);
  return row;
}

async function storeRefund(db: Prisma.TransactionClient, clock: Clock, capture: Capture, r: RefundResult): Promise<Refund> {
  const known = await db.refund.findUnique({ where: { providerRef: r.refundRef } });
  if (known) {
    if (known.status === r.status) return known;
    return db.refund.update({ where: { id: known.id }, data: { status: r.status } });
  }
  const before = (await db.refund.aggregate({ where: { captureId: capture.id, status: { in: REFUNDING } }, _sum: { amountCents: true } }))._sum.amountCents ?? 0;
  const feeCents = feeRefunded(capture, before + r.amountCents) - feeRefunded(capture, before);
  await db.refund.createMany({
    data: [{
      id: uuidv7(clock), captureId: capture.id, callId: capture.callId, hostId: capture.hostId, guestId: capture.guestId,
      providerRef: r.refundRef, amountCents: r.amountCents, feeCents, netCents: r.amountCents - feeCents,
      reason: r.reason, status: r.status, requestKey: r.requestKey, createdAt: r.createdAt,
    }],
    skipDuplicates: true,
  });
  return db.refund.findUniqueOrThrow({ where: { providerRef: r.refundRef } });
}

export interface PaymentsDeps {
  db: Db;
  clock: Clock;
  provider: PaymentProvider;
  connect: Connect;
  /** Simulated provider: a capture's net becomes available for payout this long after it. */
  availableAfterMs: number;
  /** Tells a guest of a refund of theirs. */
  notices: Pick<MoneyNotices, "refunded">;
  /** Where an admin's refunds are recorded, with the refund's row. */
  audit: Pick<Audit, "record">;
}

/**
 * One line of a payment history, keyed like its row: a capture as its payer sees it (charge) or its
 * host (earning), a refund (`toHost`: seen by the host, who is shown the fee and transfer parts) or
 * a dispute.
 */
export type HistoryEntry = SortKey &
  (
    | { type: "charge" | "earning"; capture: Capture }
    | { type: "refund"; refund: Refund & { capture: Capture }; toHost: boolean }
    | { type: "dispute"; dispute: Dispute & { capture: Capture } }
  );

/** A card-saving session at the provider, and what the client needs to complete it. */
export interface SetupIntent {
  clientSecret: string;
  publishableKey: string;
  provider: "stripe" | "simulated";
  /** The provider's test cards (simulated provider), or null. */
  testPaymentMethods: string[] | null;
}

/** A host's money in cents: captured, refunded and disputed in all, and what is pending or available for payout. */
export interface Balance {
  gross: number;
  fee: number;
  net: number;
  refunded: number;
  disputed: number;
  pending: number;
  available: number;
}

const sum = (rows: { _sum: Record<string, number | null> }) => rows._sum;

export function payments({ db, clock, provider, connect, availableAfterMs, notices, audit }: PaymentsDeps) {
  const now = () => new Date(clock.now());

  /**
   * The payer's customer at the provider, made at its first use. An account's record is stored
   * only while the account is live: the statement waits for a deletion under way (the row lock it
   * shares, as accounts.storeUpload's does) and then stores nothing, so no customer outlives the
   * account's deletion here. Such a caller is unknown (401), and the customer just made is deleted.
   */
  async function customerOf(p: PrincipalRef): Promise<string | null> {
    if (provider.name !== "stripe") return null;
    const key = { ownerKind: p.kind, ownerId: p.id };
    const stored = await db.paymentCustomer.findUnique({ where: { ownerKind_ownerId: key } });
    if (stored) return stored.customerRef;
    // Two first requests at once get the same customer (one idempotency key per payer, sent with
    // parameters that never change: a retry after a lost answer always matches).
    const customerRef = await provider.createCustomer({ ownerKind: p.kind, ownerId: p.id, idempotencyKey: `customer:${p.kind}:${p.id}` });
    if (p.kind === "user") {
      await db.$executeRawUnsafe(
        `INSERT INTO "payment_customers" ("owner_kind", "owner_id", "customer_ref", "created_at")
         SELECT 'user', "id", $2, $3 FROM "users" WHERE "id" = $1::uuid AND "deleted_at" IS NULL FOR SHARE
         ON CONFLICT DO NOTHING`,
        p.id,
        customerRef,
        now(),
      );
    } else {
      await db.paymentCustomer.createMany({ data: [{ ...key, customerRef, createdAt: now() }], skipDuplicates: true });
    }
    const row = await db.paymentCustomer.findUnique({ where: { ownerKind_ownerId: key } });
    if (!row) {
      // Only an account deleted meanwhile has none (a concurrent first request's row is there).
      // Best effort: the customer holds no card yet, and ids only.
      await provider.deleteCustomer?.(customerRef).catch(() => undefined);
      throw unknownCaller();
    }
    return row.customerRef;
  }

  /** What a host has earned: captures less refunds, with open or lost disputes apart. */
  async function totals(hostId: string) {
    const [captured, refunded, disputed] = await Promise.all([
      db.capture.aggregate({ where: { hostId }, _sum: { grossCents: true, feeCents: true, netCents: true }, _count: true }),
      db.refund.aggregate({ where: { hostId, status: { in: REFUNDING } }, _sum: { amountCents: true, feeCents: true, netCents: true } }),
      db.dispute.aggregate({ where: { hostId, status: { in: DISPUTED } }, _sum: { amountCents: true } }),
    ]);
    const c = sum(captured), r = sum(refunded);
    return {
      count: captured._count,
      gross: c.grossCents ?? 0,
      fee: (c.feeCents ?? 0) - (r.feeCents ?? 0),
      refunded: r.amountCents ?? 0,
      net: (c.netCents ?? 0) - (r.netCents ?? 0),
      disputed: sum(disputed).amountCents ?? 0,
    };
  }

  /** Simulated provider: net available once its capture is older than the delay, less refunds and payouts. */
  async function simulatedBalance(hostId: string, net: number) {
    const settledBefore = new Date(clock.now() - availableAfterMs);
    const [settled, paidOut] = await Promise.all([
      db.capture.aggregate({ where: { hostId, createdAt: { lte: settledBefore } }, _sum: { netCents: true } }),
      db.payout.aggregate({ where: { userId: hostId, status: { notIn: ["failed", "canceled"] } }, _sum: { amountCents: true } }),
    ]);
    const pendingNet = net - (settled._sum.netCents ?? 0);
    const available = Math.max(0, net - Math.max(0, pendingNet) - (paidOut._sum.amountCents ?? 0));
    return { available, pending: Math.max(0, pendingNet) };
  }

  return {
    customerOf,

    async setupIntent(p: PrincipalRef): Promise<SetupIntent> {
      const customerRef = await customerOf(p);
      const { clientSecret } = await provider.setupIntent({ customerRef: customerRef ?? "" });
      return {
        clientSecret,
        publishableKey: provider.publishableKey,
        provider: provider.name === "stripe" ? "stripe" : "simulated",
        testPaymentMethods: provider.testPaymentMethods ? [...provider.testPaymentMethods] : null,
      };
    },

    /** Newest first over captures (charges and earnings), refunds and disputes. */
    async history(p: PrincipalRef, q: { type?: HistoryEntry["type"]; limit: number; cursor?: string }): Promise<Page<HistoryEntry>> {
      const host = p.kind === "user";
      const wants = (t: string) => !q.type || q.type === t;
      const page = { ...afterCursor("payments", q.cursor) };
      const take = q.limit + 1;
      const asGuest = { guestId: p.id, call: { guestKind: p.kind } };
      const [charges, earnings, guestRefunds, hostRefunds, disputes] = await Promise.all([
        wants("charge") ? db.capture.findMany({ where: { AND: [asGuest, page] }, orderBy: newestFirst, take }) : [],
        wants("earning") && host ? db.capture.findMany({ where: { AND: [{ hostId: p.id }, page] }, orderBy: newestFirst, take }) : [],
        wants("refund") ? db.refund.findMany({ where: { AND: [{ guestId: p.id, capture: { call: { guestKind: p.kind } } }, page] }, include: { capture: true }, orderBy: newestFirst, take }) : [],
        wants("refund") && host ? db.refund.findMany({ where: { AND: [{ hostId: p.id }, page] }, include: { capture: true }, orderBy: newestFirst, take }) : [],
        wants("dispute") && host ? db.dispute.findMany({ where: { AND: [{ hostId: p.id }, page] }, include: { capture: true }, orderBy: newestFirst, take }) : [],
      ]);
      const key = (r: SortKey) => ({ id: r.id, createdAt: r.createdAt });
      const entries: HistoryEntry[] = [
        ...charges.map((c) => ({ ...key(c), type: "charge" as const, capture: c })),
        ...earnings.map((c) => ({ ...key(c), type: "earning" as const, capture: c })),
        ...guestRefunds.map((r) => ({ ...key(r), type: "refund" as const, refund: r, toHost: false })),
        ...hostRefunds.map((r) => ({ ...key(r), type: "refund" as const, refund: r, toHost: true })),
        ...disputes.map((d) => ({ ...key(d), type: "dispute" as const, dispute: d })),
      ];
      entries.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      return toPage("payments", entries.slice(0, take), q.limit);
    },

    /** A host's US dollar balance (never below zero), or null when they have neither captures nor an account balance. */
    async earnings(hostId: string): Promise<Balance | null> {
      const t = await totals(hostId);
      const account = await connect.accountOf(hostId);
      const balance = account ? await provider.balance(account.accountRef) : null;
      if (t.count === 0 && !balance) return null;
      const own = balance
        ? {
            available: balance.available.find((b) => b.currency === "usd")?.amountCents ?? 0,
            pending: balance.pending.find((b) => b.currency === "usd")?.amountCents ?? 0,
          }
        : await simulatedBalance(hostId, t.net);
      const z = (cents: number) => Math.max(0, cents);
      return { gross: z(t.gross), fee: z(t.fee), net: z(t.net), refunded: z(t.refunded), disputed: z(t.disputed), pending: z(own.pending), available: z(own.available) };
    },

    async payouts(hostId: string, q: { limit: number; cursor?: string }): Promise<Page<Payout>> {
      const rows = await db.payout.findMany({
        where: { AND: [{ userId: hostId }, afterCursor("payouts", q.cursor)] },
        orderBy: newestFirst,
        take: q.limit + 1,
      });
      return toPage("payouts", rows, q.limit);
    },

    /**
     * Refunds (part of) a capture: never more than is left of it. The provider's idempotency key
     * comes from the admin's key, so a retried request never refunds twice. The refund is recorded
     * by the provider's id (a webhook about it may have recorded it first). Without an amount, all
     * that is left; an amount that could not be read is NaN, refused with the rest. The refund is
     * recorded in the audit log (`by`: the admin, the request) once, in the transaction that
     * stores it (a retry records it if its first attempt could not).
     */
    async refund(
      captureId: string,
      body: { amountCents?: number | undefined; reason: RefundReason },
      clientKey: string,
      by: { actor: AuditActor; requestId?: string | undefined },
    ): Promise<Refund> {
      const audited = (r: Refund) => ({
        action: "payment.refunded" as const,
        actor: by.actor,
        target: { type: "payment" as const, id: r.captureId },
        requestId: by.requestId,
        data: { refund_id: r.id, amount: formatCents(r.amountCents) },
        dedupeKey: `payment.refunded:${r.id}`,
      });
      const capture = await db.capture.findUnique({ where: { id: captureId }, include: { call: { select: { payeeRef: true } } } });
      if (!capture) throw new AppError("not_found");
      // A retry whose first attempt went through at the provider although its answer was lost
      // (and a webhook has recorded that refund since): the same refund, not a check against what is left.
      const idempotencyKey = `refund:${captureId}:${clientKey}`;
      const done = await db.refund.findUnique({ where: { requestKey: idempotencyKey } });
      if (done) {
        await audit.record(audited(done));
        return done;
      }
      const refunded = await db.refund.aggregate({ where: { captureId, status: { in: REFUNDING } }, _sum: { amountCents: true } });
      const left = capture.grossCents - (refunded._sum.amountCents ?? 0);
      const amountCents = body.amountCents ?? left;
      if (!Number.isInteger(amountCents) || amountCents <= 0) throw new AppError("validation_error", { amount: "must be a positive amount" });
      if (amountCents > left) throw new AppError("validation_error", { amount: `is more than the ${formatCents(left)} left to refund` });
      const holdRef =
        capture.paymentRef ??
        (await db.billingWindow.findUnique({ where: { callId_index: { callId: capture.callId, index: capture.windowIndex } } }))?.holdRef;
      if (!holdRef) throw new AppError("not_found");
      const result = await provider.refund({
        holdRef,
        amountCents,
        reason: body.reason,
        connected: capture.call.payeeRef !== null,
        idempotencyKey,
      });
      const row = await db.$transaction(async (tx) => {
        const stored = await storeRefund(tx, clock, capture, { ...result, createdAt: now() });
        await audit.record(audited(stored), tx);
        return stored;
      });
      await notices.refunded(row);
      return row;
    },
  };
}

export type Payments = ReturnType<typeof payments>;
