-- Scheduled verification (docs/design/monitoring.md, "Verification"): a policy's verification
-- schedule as its JSON (policy.Verification), empty for none, and per instance when the
-- scheduler last queued a verification of either level and of the data, by which the next is due.
-- The result of each recovery point's verification is its newest verify job, read through the
-- index jobs_by_recovery_point: nothing more is stored for it.
ALTER TABLE policies ADD COLUMN verify TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN last_verify_structure_at TIMESTAMP;
ALTER TABLE instances ADD COLUMN last_verify_data_at TIMESTAMP
