-- E-mails about calls and money (docs/notifications.md): the language a person is written to in
-- (en, es, fr; taken from the request that created them, changed on PATCH /v1/users/me), a user's
-- e-mail preferences (on unless turned off), and a guest's optional address for receipts.
ALTER TABLE "users" ADD COLUMN "language" TEXT NOT NULL DEFAULT 'en',
    ADD COLUMN "email_incoming_call" BOOLEAN NOT NULL DEFAULT true,
    ADD COLUMN "email_receipts" BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE "guests" ADD COLUMN "email" TEXT,
    ADD COLUMN "language" TEXT NOT NULL DEFAULT 'en';

-- A notice that may be produced more than once (a retried task, a webhook delivered again) names
-- itself with a key, and is stored once per user and key.
ALTER TABLE "notifications" ADD COLUMN "dedupe_key" TEXT;
CREATE UNIQUE INDEX "notifications_user_id_dedupe_key_key" ON "notifications"("user_id", "dedupe_key");
