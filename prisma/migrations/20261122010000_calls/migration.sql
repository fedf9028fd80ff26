-- CreateEnum
CREATE TYPE "CallStatus" AS ENUM ('pending', 'waiting', 'active', 'ending', 'completed', 'cancelled', 'failed');

-- CreateTable
CREATE TABLE "call_links" (
    "id" UUID NOT NULL,
    "host_id" UUID NOT NULL,
    "short_code" TEXT NOT NULL,
    "rate_cents" INTEGER NOT NULL,
    "window_minutes" INTEGER NOT NULL,
    "expires_at" TIMESTAMPTZ(3),
    "max_uses" INTEGER,
    "use_count" INTEGER NOT NULL DEFAULT 0,
    "label" TEXT,
    "scheduled_start" TIMESTAMPTZ(3),
    "scheduled_end" TIMESTAMPTZ(3),
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "call_links_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "calls" (
    "id" UUID NOT NULL,
    "link_id" UUID NOT NULL,
    "host_id" UUID NOT NULL,
    "guest_kind" TEXT NOT NULL,
    "guest_id" UUID NOT NULL,
    "guest_name" TEXT NOT NULL,
    "status" "CallStatus" NOT NULL,
    "end_reason" TEXT,
    "rate_cents" INTEGER NOT NULL,
    "window_minutes" INTEGER NOT NULL,
    "payment_method_id" TEXT NOT NULL,
    "amount_charged_cents" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "host_conn" TEXT,
    "guest_conn" TEXT,
    "host_left_at" TIMESTAMPTZ(3),
    "guest_left_at" TIMESTAMPTZ(3),
    "lease_owner" TEXT,
    "lease_until" TIMESTAMPTZ(3),

    CONSTRAINT "calls_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "billing_windows" (
    "id" UUID NOT NULL,
    "call_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "amount_cents" INTEGER NOT NULL,
    "hold_status" TEXT NOT NULL,
    "hold_ref" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "billing_windows_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "call_tasks" (
    "id" UUID NOT NULL,
    "call_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "window_index" INTEGER,
    "ref_time" TIMESTAMPTZ(3),
    "dedupe_key" TEXT NOT NULL,
    "reason" TEXT,
    "due_at" TIMESTAMPTZ(3) NOT NULL,
    "status" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "done_at" TIMESTAMPTZ(3),

    CONSTRAINT "call_tasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "captures" (
    "id" UUID NOT NULL,
    "call_id" UUID NOT NULL,
    "window_index" INTEGER NOT NULL,
    "host_id" UUID NOT NULL,
    "guest_id" UUID NOT NULL,
    "gross_cents" INTEGER NOT NULL,
    "fee_cents" INTEGER NOT NULL,
    "net_cents" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "captures_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "signaling_tokens" (
    "id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "call_id" UUID NOT NULL,
    "role" TEXT NOT NULL,
    "principal_id" UUID NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "signaling_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "idempotency_keys" (
    "scope" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status_code" INTEGER,
    "response_body" TEXT,
    "response_headers" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("scope","operation","key")
);

-- CreateTable
CREATE TABLE "sim_payment_intents" (
    "id" TEXT NOT NULL,
    "payment_method" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "amount_cents" INTEGER NOT NULL,
    "captured_cents" INTEGER NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sim_payment_intents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sim_payment_requests" (
    "id" UUID NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "replayed" BOOLEAN NOT NULL,
    "outcome" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sim_payment_requests_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "call_links_short_code_key" ON "call_links"("short_code");

-- CreateIndex
CREATE INDEX "call_links_host_id_created_at_idx" ON "call_links"("host_id", "created_at");

-- CreateIndex
CREATE INDEX "calls_host_id_created_at_idx" ON "calls"("host_id", "created_at");

-- CreateIndex
CREATE INDEX "calls_guest_id_created_at_idx" ON "calls"("guest_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "billing_windows_call_id_index_key" ON "billing_windows"("call_id", "index");

-- CreateIndex
CREATE INDEX "call_tasks_status_due_at_idx" ON "call_tasks"("status", "due_at");

-- CreateIndex
CREATE UNIQUE INDEX "call_tasks_call_id_dedupe_key_key" ON "call_tasks"("call_id", "dedupe_key");

-- CreateIndex
CREATE INDEX "captures_host_id_created_at_idx" ON "captures"("host_id", "created_at");

-- CreateIndex
CREATE INDEX "captures_guest_id_created_at_idx" ON "captures"("guest_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "captures_call_id_window_index_key" ON "captures"("call_id", "window_index");

-- CreateIndex
CREATE UNIQUE INDEX "signaling_tokens_token_hash_key" ON "signaling_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "signaling_tokens_call_id_idx" ON "signaling_tokens"("call_id");

-- CreateIndex
CREATE INDEX "idempotency_keys_expires_at_idx" ON "idempotency_keys"("expires_at");

-- CreateIndex
CREATE INDEX "sim_payment_intents_reference_idx" ON "sim_payment_intents"("reference");

-- CreateIndex
CREATE INDEX "sim_payment_requests_idempotency_key_idx" ON "sim_payment_requests"("idempotency_key");

-- AddForeignKey
ALTER TABLE "calls" ADD CONSTRAINT "calls_link_id_fkey" FOREIGN KEY ("link_id") REFERENCES "call_links"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "billing_windows" ADD CONSTRAINT "billing_windows_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "call_tasks" ADD CONSTRAINT "call_tasks_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "captures" ADD CONSTRAINT "captures_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "signaling_tokens" ADD CONSTRAINT "signaling_tokens_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "calls"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Hosts are accounts (users are never deleted; the column is a plain uuid in the Prisma model).
ALTER TABLE "call_links" ADD CONSTRAINT "call_links_host_id_fkey" FOREIGN KEY ("host_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
