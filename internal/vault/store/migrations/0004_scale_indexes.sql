-- Indexes a vault with thousands of instances needs (bench/vault, docs/benchmarks.md "Vault").

-- Lists newest first, a page at a time: without these SQLite read every row of the vault
-- through another index on vault and sorted them, for every page.
CREATE INDEX jobs_by_vault ON jobs (vault, id);

CREATE INDEX recovery_points_by_vault ON recovery_points (vault, seq);

-- A backup's recovery point name: UniqueRecoveryPointName, HasOpenJob for one point and ListJobs
-- by recovery point read it for every job they queue or list.
CREATE INDEX jobs_by_recovery_point ON jobs (vault, recovery_point);

-- The open jobs of an instance (HasOpenJob, OpenJobInstances): a few rows, however long the
-- history. The queries repeat this WHERE clause word for word, so that SQLite uses the index.
CREATE INDEX jobs_open_by_instance ON jobs (vault, kind, instance) WHERE state IN ('queued', 'running');

-- The running jobs whose lease ran out (ExpireLeases, every tick).
CREATE INDEX jobs_running_by_lease ON jobs (lease_expires) WHERE state = 'running'
