-- Account deletion (README.md, "Account deletion and data export"). A deleted account's row stays
-- as a tombstone: calls, captures, refunds, disputes and payouts name their host and payer by id,
-- and call_links.host_id is a foreign key, so the row is kept for the accounting and every
-- personal column is emptied. The constraint keeps it so, whatever writes the row later.
ALTER TABLE "users" ADD COLUMN "deleted_at" TIMESTAMPTZ(3);
ALTER TABLE "users" ADD CONSTRAINT "users_tombstone_empty" CHECK (
    "deleted_at" IS NULL OR (
        "email" IS NULL AND "email_key" IS NULL AND "username" IS NULL AND "bio" IS NULL
        AND "image_key" IS NULL AND "email_verified_at" IS NULL
        AND "display_name" = '' AND "password_hash" = ''
    )
);

-- Pictures an account uploaded through the V-app's POST /image (its profile picture is
-- users.image_key): listed in its export, removed from storage when it is deleted.
CREATE TABLE "media_uploads" (
    "key" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "media_uploads_pkey" PRIMARY KEY ("key"),
    CONSTRAINT "media_uploads_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "media_uploads_user_id_created_at_idx" ON "media_uploads"("user_id", "created_at");
