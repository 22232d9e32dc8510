// Package snapshot protects persistent volumes with CSI volume snapshots: it decides which claims
// can be snapshotted and which go to the file-system backup instead (the volume policy and the
// fs-backup opt-in), takes the snapshots through the cluster's snapshot API and keeps them past
// the life of their namespace, provisions pre-bound snapshots for restores, and deletes the
// snapshots of expired recovery points. docs/design/volumes.md describes the lifecycle.
package snapshot
