-- The V-app's user list (every account with a username, oldest first) is kept rendered in memory by
-- each instance. This one-row version tells an instance that its copy is out of date: triggers bump
-- it in the same transaction as any write that can change the list, whoever makes it (the service,
-- the admin script, an operator in psql), so it becomes visible exactly when the write does.
CREATE TABLE "directory_version" (
    "id" BOOLEAN NOT NULL DEFAULT true,
    "version" BIGINT NOT NULL,
    CONSTRAINT "directory_version_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "directory_version_one_row" CHECK ("id")
);
INSERT INTO "directory_version" ("id", "version") VALUES (true, 1);

CREATE FUNCTION "directory_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE "directory_version" SET "version" = "version" + 1;
    RETURN NULL;
END $$;

-- Rows added or removed count only when they have a username (one bump per statement, however
-- many rows it touched).
CREATE FUNCTION "directory_bump_if_listed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM "changed_rows" WHERE "username" IS NOT NULL) THEN
        UPDATE "directory_version" SET "version" = "version" + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER "users_directory_insert" AFTER INSERT ON "users"
    REFERENCING NEW TABLE AS "changed_rows" FOR EACH STATEMENT EXECUTE FUNCTION "directory_bump_if_listed"();
CREATE TRIGGER "users_directory_delete" AFTER DELETE ON "users"
    REFERENCING OLD TABLE AS "changed_rows" FOR EACH STATEMENT EXECUTE FUNCTION "directory_bump_if_listed"();
-- An update that sets a column the list shows (or orders by); other columns (password, role,
-- e-mail, bio …) leave the list as it is.
CREATE TRIGGER "users_directory_update" AFTER UPDATE OF "id", "username", "display_name", "image_key", "created_at" ON "users"
    FOR EACH STATEMENT EXECUTE FUNCTION "directory_bump"();
CREATE TRIGGER "users_directory_truncate" AFTER TRUNCATE ON "users"
    FOR EACH STATEMENT EXECUTE FUNCTION "directory_bump"();
