-- Bounds on a call's end, kept on its row so that every end (a hang-up, a reconnect deadline, the
-- engine's own) is computed in the same statement that records it, whatever reaches the database
-- first:
--   billed_until: the end of the last window captured in full while the call was active; the call
--     never ends before it (a departure recorded late, after that window was billed, ends it there).
--   paid_until: the end of the last window paid for, once the next window's hold was declined; the
--     call ends there at the latest (`billing_failed`), even when a hang-up reaches the database first.
-- So the amount charged is always the rule applied to the call's start and end.
ALTER TABLE "calls" ADD COLUMN "billed_until" TIMESTAMPTZ(3);
ALTER TABLE "calls" ADD COLUMN "paid_until" TIMESTAMPTZ(3);
