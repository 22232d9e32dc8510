-- The Backup center's overview counts and lists the jobs of the last 24 hours.
CREATE INDEX jobs_by_created ON jobs (vault, created_at);
