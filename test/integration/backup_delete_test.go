//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeleteIncompleteBackupWithoutSnapshotAPI deletes a backup that never committed its manifest
// (its volume snapshots, if any, would be unrecorded) in a cluster that does not serve the
// snapshot API: there is nothing to look for, and the delete goes through.
func TestDeleteIncompleteBackupWithoutSnapshotAPI(t *testing.T) {
	dir := t.TempDir()
	storage := "file://" + dir
	if out, errOut, err := cairnWithEnv(t, source, nil, "backup", "create", "cut-short", "--storage", storage, "--include-namespaces", "default"); err != nil {
		t.Fatalf("backup: %v\n%s\n%s", err, out, errOut)
	}
	if err := os.Remove(filepath.Join(dir, "backups", "cut-short", "manifest")); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := cairnWithEnv(t, source, nil, "backup", "delete", "cut-short", "--storage", storage)
	if err != nil || !strings.Contains(out, `deleted backup "cut-short"`) {
		t.Fatalf("delete: %v\n%s\n%s", err, out, errOut)
	}
}
