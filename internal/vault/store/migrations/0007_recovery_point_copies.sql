-- The copy tier (docs/design/volumes.md): how many volumes a recovery point copied into the backup
-- storage, their size and what they added to it, and per claim which tiers hold its data (a JSON
-- array of agentv1.VolumeTiers).
ALTER TABLE recovery_points ADD COLUMN volumes_copied INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recovery_points ADD COLUMN copy_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recovery_points ADD COLUMN copy_added_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE recovery_points ADD COLUMN volume_tiers TEXT NOT NULL DEFAULT '[]'
