-- Automatic test restores (docs/design/monitoring.md, "Automatic test restores"): a policy's test
-- restore schedule as its JSON (policy.TestRestore), empty for none, and per instance when the
-- scheduler last queued one, by which the next is due. An instance's result is its newest
-- test-restore job (index jobs_by_instance_kind).
ALTER TABLE policies ADD COLUMN test_restore TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN last_test_restore_at TIMESTAMP
