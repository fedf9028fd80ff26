-- The audit log (issue 14; docs in README.md, "Audit log"): role changes, refunds, account
-- deletions and signing-key rotations, one row each, written in the transaction of the change it
-- records. Actor and target are plain ids, not foreign keys: a deleted account's rows stay, and
-- name it by id only. `data` holds a few ids and values, never secrets or personal data.
CREATE TABLE "audit_log" (
    "id" UUID NOT NULL,
    "action" TEXT NOT NULL,
    "actor_kind" TEXT NOT NULL,
    "actor_id" UUID,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "request_id" TEXT,
    -- An event that may be recorded more than once (a retried refund) names itself with a key and
    -- is stored once.
    "dedupe_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "audit_log_actor_check" CHECK (("actor_kind" = 'user' AND "actor_id" IS NOT NULL) OR ("actor_kind" = 'system' AND "actor_id" IS NULL))
);

CREATE UNIQUE INDEX "audit_log_dedupe_key_key" ON "audit_log"("dedupe_key");
CREATE INDEX "audit_log_created_at_id_idx" ON "audit_log"("created_at", "id");
CREATE INDEX "audit_log_action_created_at_id_idx" ON "audit_log"("action", "created_at", "id");
CREATE INDEX "audit_log_target_id_created_at_id_idx" ON "audit_log"("target_id", "created_at", "id");

-- Append-only: any UPDATE, DELETE or TRUNCATE of the table fails (statement level, so that one
-- matching no row fails too). This guards against the service's own mistakes; a role that owns the
-- table can still disable the trigger, so an operator who needs more revokes those privileges or
-- ships the log elsewhere.
CREATE FUNCTION "audit_log_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'P0001';
END;
$$;
CREATE TRIGGER "audit_log_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "audit_log"
    FOR EACH STATEMENT EXECUTE FUNCTION "audit_log_append_only"();

-- The signing key in use, as last seen by a starting instance (one row): a start with another
-- key is a rotation, recorded once (the row is locked while it is compared and replaced).
CREATE TABLE "signing_key_state" (
    "id" BOOLEAN NOT NULL DEFAULT true,
    "kid" TEXT NOT NULL,
    "since" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "signing_key_state_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "signing_key_state_one_row" CHECK ("id")
);
