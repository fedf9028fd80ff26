-- When the host was first told that a guest is waiting (a live stream of theirs received the
-- call_incoming notification): a waiting call with it set has rung (docs/notifications.md).
ALTER TABLE "calls" ADD COLUMN "notified_at" TIMESTAMPTZ(3);
