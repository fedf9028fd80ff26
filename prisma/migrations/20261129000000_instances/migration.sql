-- Idempotency claims lapse: a request that died (crash, outage) no longer blocks its key.
ALTER TABLE "idempotency_keys" ADD COLUMN "claimed_until" TIMESTAMPTZ(3);

-- Instance leases: signaling presence that a dead process cannot fake.
CREATE TABLE "instances" (
    "id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "heartbeat_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "instances_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "instances_expires_at_idx" ON "instances"("expires_at");

-- The simulated provider, like Stripe, runs one request per idempotency key even when two arrive
-- at once (the first request of a key is its only non-replayed row).
CREATE UNIQUE INDEX "sim_payment_requests_first_key" ON "sim_payment_requests"("idempotency_key") WHERE NOT "replayed";
