-- Real payments (issue 9): provider customers, hosts' connected accounts, refunds, disputes,
-- payouts and the webhook events received (each processed once). A provider payment backs one
-- billing window at most; a window's capture amount is fixed by its first attempt.

-- AlterTable
ALTER TABLE "calls" ADD COLUMN     "customer_ref" TEXT,
ADD COLUMN     "payee_ref" TEXT;

-- AlterTable
ALTER TABLE "billing_windows" ADD COLUMN     "capture_cents" INTEGER;

-- AlterTable
ALTER TABLE "captures" ADD COLUMN     "payment_ref" TEXT;

-- AlterTable
ALTER TABLE "sim_payment_intents" ADD COLUMN     "refunded_cents" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "payment_customers" (
    "owner_kind" TEXT NOT NULL,
    "owner_id" UUID NOT NULL,
    "customer_ref" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "payment_customers_pkey" PRIMARY KEY ("owner_kind","owner_id")
);

-- CreateTable
CREATE TABLE "connect_accounts" (
    "user_id" UUID NOT NULL,
    "account_ref" TEXT NOT NULL,
    "charges_enabled" BOOLEAN NOT NULL DEFAULT false,
    "payouts_enabled" BOOLEAN NOT NULL DEFAULT false,
    "details_submitted" BOOLEAN NOT NULL DEFAULT false,
    "requirements_due" TEXT[],
    "disabled_reason" TEXT,
    "status_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "connect_accounts_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "refunds" (
    "id" UUID NOT NULL,
    "capture_id" UUID NOT NULL,
    "call_id" UUID NOT NULL,
    "host_id" UUID NOT NULL,
    "guest_id" UUID NOT NULL,
    "provider_ref" TEXT NOT NULL,
    "amount_cents" INTEGER NOT NULL,
    "fee_cents" INTEGER NOT NULL,
    "net_cents" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "request_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "refunds_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "disputes" (
    "id" UUID NOT NULL,
    "capture_id" UUID NOT NULL,
    "host_id" UUID NOT NULL,
    "provider_ref" TEXT NOT NULL,
    "amount_cents" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "status_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "disputes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "payouts" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "provider_ref" TEXT NOT NULL,
    "amount_cents" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "arrival_at" TIMESTAMPTZ(3),
    "failure_code" TEXT,
    "status_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "payouts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_events" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "claimed_until" TIMESTAMPTZ(3),
    "processed_at" TIMESTAMPTZ(3),
    "received_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "payment_customers_customer_ref_key" ON "payment_customers"("customer_ref");

-- CreateIndex
CREATE UNIQUE INDEX "connect_accounts_account_ref_key" ON "connect_accounts"("account_ref");

-- CreateIndex
CREATE UNIQUE INDEX "refunds_provider_ref_key" ON "refunds"("provider_ref");

-- CreateIndex
CREATE UNIQUE INDEX "refunds_request_key_key" ON "refunds"("request_key");

-- CreateIndex
CREATE INDEX "refunds_capture_id_idx" ON "refunds"("capture_id");

-- CreateIndex
CREATE INDEX "refunds_guest_id_created_at_idx" ON "refunds"("guest_id", "created_at");

-- CreateIndex
CREATE INDEX "refunds_host_id_created_at_idx" ON "refunds"("host_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "disputes_provider_ref_key" ON "disputes"("provider_ref");

-- CreateIndex
CREATE INDEX "disputes_host_id_idx" ON "disputes"("host_id");

-- CreateIndex
CREATE UNIQUE INDEX "payouts_provider_ref_key" ON "payouts"("provider_ref");

-- CreateIndex
CREATE INDEX "payouts_user_id_created_at_idx" ON "payouts"("user_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "billing_windows_hold_ref_key" ON "billing_windows"("hold_ref");

-- CreateIndex
CREATE INDEX "captures_payment_ref_idx" ON "captures"("payment_ref");

-- AddForeignKey
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_capture_id_fkey" FOREIGN KEY ("capture_id") REFERENCES "captures"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "disputes" ADD CONSTRAINT "disputes_capture_id_fkey" FOREIGN KEY ("capture_id") REFERENCES "captures"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

