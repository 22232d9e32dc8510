-- Instance validation (docs/design/monitoring.md, "Validation before the first backup"): an
-- instance's result is its newest validate job, found per instance and kind.
CREATE INDEX jobs_by_instance_kind ON jobs (vault, instance, kind, id)
