-- Vonage mode (docs/vapp.md, "Vonage mode"): an account's user in the Vonage Users API, whose
-- `USR-…` id is the account's V-app id, and the work owed to that API, retried until done.
ALTER TABLE "users" ADD COLUMN "vonage_user_id" TEXT;
CREATE UNIQUE INDEX "users_vonage_user_id_key" ON "users"("vonage_user_id");
-- A tombstone keeps no link to a remote user (its deletion is a task).
ALTER TABLE "users" ADD CONSTRAINT "users_tombstone_no_vonage_user" CHECK ("deleted_at" IS NULL OR "vonage_user_id" IS NULL);

-- The V-app list shows the id, so a change of it bumps the list's version too.
DROP TRIGGER "users_directory_update" ON "users";
CREATE TRIGGER "users_directory_update" AFTER UPDATE OF "id", "username", "display_name", "image_key", "created_at", "vonage_user_id" ON "users"
    FOR EACH STATEMENT EXECUTE FUNCTION "directory_bump"();

CREATE TABLE "vonage_tasks" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "name" TEXT,
    "due_at" TIMESTAMPTZ(3) NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    -- Bumped whenever a newer change arms the task again: a run finishes it only if unchanged.
    "version" INTEGER NOT NULL DEFAULT 0,
    -- A failed push whose request may still reach Vonage (its outcome unknown): after its next
    -- success the push is sent once more, later, so that a late old request cannot have the last word.
    "unsettled" BOOLEAN NOT NULL DEFAULT false,
    -- The run that has the task (one at a time, across instances) until claimed_until.
    "claim" UUID,
    "claimed_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "vonage_tasks_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "vonage_tasks_kind" CHECK ("kind" IN ('signup', 'orphan', 'push', 'delete'))
);
CREATE UNIQUE INDEX "vonage_tasks_kind_subject_key" ON "vonage_tasks"("kind", "subject");
CREATE INDEX "vonage_tasks_due_at_idx" ON "vonage_tasks"("due_at");

-- The work a change owes Vonage, written in the change's own transaction, whoever makes it (the
-- service, the admin script, an operator in psql): `push` when a linked account's name, display
-- name or picture changes (or it is linked), `delete` when an account lets go of its remote user
-- (its deletion). Due at once ('epoch': whatever the service's clock says); a newer change arms a
-- pending one again (a new version, due at once; its attempts are kept).
CREATE FUNCTION "vonage_tasks_for_user"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD."vonage_user_id" IS NOT NULL AND NEW."vonage_user_id" IS DISTINCT FROM OLD."vonage_user_id" THEN
        INSERT INTO "vonage_tasks" ("id", "kind", "subject", "due_at", "created_at")
        VALUES (gen_random_uuid(), 'delete', OLD."vonage_user_id", 'epoch', now())
        ON CONFLICT ("kind", "subject") DO UPDATE SET "due_at" = 'epoch', "version" = "vonage_tasks"."version" + 1;
    END IF;
    IF NEW."vonage_user_id" IS NOT NULL AND NEW."deleted_at" IS NULL AND (
        NEW."vonage_user_id" IS DISTINCT FROM OLD."vonage_user_id" OR NEW."username" IS DISTINCT FROM OLD."username"
        OR NEW."display_name" IS DISTINCT FROM OLD."display_name" OR NEW."image_key" IS DISTINCT FROM OLD."image_key"
    ) THEN
        INSERT INTO "vonage_tasks" ("id", "kind", "subject", "due_at", "created_at")
        VALUES (gen_random_uuid(), 'push', NEW."id"::text, 'epoch', now())
        ON CONFLICT ("kind", "subject") DO UPDATE SET "due_at" = 'epoch', "version" = "vonage_tasks"."version" + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER "users_vonage_tasks" AFTER UPDATE OF "username", "display_name", "image_key", "vonage_user_id", "deleted_at" ON "users"
    FOR EACH ROW EXECUTE FUNCTION "vonage_tasks_for_user"();
