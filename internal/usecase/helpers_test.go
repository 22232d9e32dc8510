package usecase

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/hooks"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/testenv"
)

var (
	testKey   = archive.Credential{KeyFile: bytes.Repeat([]byte("k"), 32)}
	wrongKey  = archive.Credential{KeyFile: bytes.Repeat([]byte("w"), 32)}
	testClock = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
)

// opener opens every URL as st.
func opener(st blob.Storage) func(context.Context, Location) (blob.Storage, error) {
	return func(context.Context, Location) (blob.Storage, error) { return st, nil }
}

// ref is a RepositoryRef unlocked with cred; Explain marks the errors it words.
func ref(cred archive.Credential) RepositoryRef {
	return RepositoryRef{Location: Location{URL: "mem://"}, Credential: func() (archive.Credential, error) { return cred, nil },
		Explain: func(err error) error { return fmt.Errorf("explained: %w", err) }}
}

// repositoryWith initialises a repository in a new memory storage holding recovery point name,
// of two ConfigMaps in namespace shop, committed with phase.
func repositoryWith(t *testing.T, name, phase string) *memory.Storage {
	t.Helper()
	ctx := t.Context()
	st := memory.New()
	repo, err := archive.Init(ctx, st, testKey, archive.InitOptions{Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	w, err := repo.NewBackup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	s := w.NewSink()
	key := archive.GroupKey{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespace: "shop"}
	for i := range 2 {
		item := fmt.Appendf(nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d","namespace":"shop"}}`, i)
		if err := s.Add(ctx, key, true, item); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rp := archive.RecoveryPoint{CompletedAt: testClock, Result: archive.BackupResult{Phase: phase, Errors: []string{"the apiserver went away"}}}
	if phase != archive.PhaseFailed {
		rp.Result.Errors = nil
	}
	if _, err := w.Commit(ctx, rp); err != nil {
		t.Fatal(err)
	}
	return st
}

// testRunner is a Runner on a fake cluster and st, logging into the returned buffer. The cluster
// runs v1.35.4 and allows everything; the engines fail the test unless it replaces them.
func testRunner(t *testing.T, st blob.Storage) (*Runner, *testenv.LockedBuffer) {
	t.Helper()
	logs := &testenv.LockedBuffer{}
	unexpected := func(what string) error {
		t.Errorf("unexpected call of %s", what)
		return fmt.Errorf("%s is not faked", what)
	}
	return &Runner{Config: &rest.Config{Host: "https://cluster.test"}, Now: func() time.Time { return testClock },
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Engines: Engines{
			OpenStorage: opener(st),
			Backup: func(context.Context, *rest.Config, *archive.Repository, backup.Options) (archive.RecoveryPoint, error) {
				return archive.RecoveryPoint{}, unexpected("backup.Run")
			},
			Restore: func(context.Context, *rest.Config, *archive.Repository, restore.Options) (*restore.Result, error) {
				return nil, unexpected("restore.Run")
			},
			Delete: func(context.Context, *archive.Repository, string, *snapshot.Snapshotter) (backup.Deleted, error) {
				return backup.Deleted{}, unexpected("backup.Delete")
			},
			Snapshotter: func(*rest.Config, snapshot.Options) (*snapshot.Snapshotter, error) {
				return nil, unexpected("snapshot.New")
			},
			BackupHooks: func(_ context.Context, _ *rest.Config, refs []string, _ func() time.Time, _ *slog.Logger) (*hooks.BackupRunner, error) {
				if len(refs) > 0 {
					return nil, unexpected("LoadBackupHooks")
				}
				return nil, nil
			},
			RestoreHooks: func(_ context.Context, _ *rest.Config, refs []string, _ func() time.Time, _ *slog.Logger) (*hooks.RestoreRunner, error) {
				if len(refs) > 0 {
					return nil, unexpected("LoadRestoreHooks")
				}
				return nil, nil
			},
			KubernetesVersion: func(context.Context, *rest.Config) (string, error) { return "v1.35.4", nil },
			MissingAccess:     func(context.Context, *rest.Config, []Access) ([]Access, error) { return nil, nil },
		}}, logs
}
