// Package hooks runs the commands of BackupHook and RestoreHook custom resources (AKS backup's
// hook kinds, api/v1alpha1) in pods' containers through the pods/exec subresource.
//
// LoadBackupHooks and LoadRestoreHooks read and validate the resources a backup or restore names.
// A BackupRunner runs pre-hooks in the selected pods before the backup (Pre) and post-hooks after
// it (Post), whatever happened in between, so that a frozen application is always thawed. A
// RestoreRunner waits for the pods a restore expects to appear, waits for each hook's container to
// run (and be ready), and runs the post-hooks. Every command run, or not run, comes back as an
// archive.HookExecution for the backup's manifest or the restore's result.
package hooks
