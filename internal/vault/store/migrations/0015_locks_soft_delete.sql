-- Deletion protection (docs/design/vault.md, "Deletion protection"): a policy's lock and an
-- instance's override (policy.Duration's form, empty for none), the time until which a recovery
-- point's files are immutable in storage (as its agent reported it), and soft deletion: when a
-- person deleted the point, who, and when the vault purges it (NULL: not soft-deleted).
ALTER TABLE policies ADD COLUMN lock_for TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN lock_for TEXT NOT NULL DEFAULT '';
ALTER TABLE recovery_points ADD COLUMN locked_until TIMESTAMP;
ALTER TABLE recovery_points ADD COLUMN soft_deleted_at TIMESTAMP;
ALTER TABLE recovery_points ADD COLUMN soft_deleted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE recovery_points ADD COLUMN purge_after TIMESTAMP
