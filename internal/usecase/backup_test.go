package usecase

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/hooks"
	"github.com/cairnbackup/cairn/internal/mover"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

func TestBackupInitialisesAndRuns(t *testing.T) {
	r, logs := testRunner(t, memory.New())
	var got backup.Options
	r.Engines.Backup = func(_ context.Context, _ *rest.Config, repo *archive.Repository, opts backup.Options) (archive.RecoveryPoint, error) {
		got = opts
		opts.Progress(backup.Progress{Items: 3, RawBytes: 300, Resource: "configmaps"})
		return archive.RecoveryPoint{Name: opts.Name, Result: archive.BackupResult{Phase: archive.PhaseCompleted, Items: 3}}, nil
	}
	var initialised blob.Storage
	req := BackupRequest{Repository: ref(testKey), Name: "nightly-1", Scope: scope.Spec{IncludedNamespaces: []string{"shop"}},
		Parallelism: 2, LockUntil: testClock.Add(time.Hour), ExpiresAt: testClock.Add(24 * time.Hour)}
	req.Repository.Encrypt = true
	req.Repository.Initialised = func(st blob.Storage) { initialised = st }
	var mu sync.Mutex
	var stages []string
	req.Progress = func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		stages = append(stages, p.Stage+" "+p.Resource)
	}
	res, err := r.Backup(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.RecoveryPoint.Name != "nightly-1" || len(res.Warnings) != 0 || initialised == nil {
		t.Errorf("result %+v, initialised %v", res, initialised)
	}
	if got.Volumes != nil || got.Hooks != nil || got.Parallelism != 2 || !got.LockUntil.Equal(req.LockUntil) || !got.ExpiresAt.Equal(req.ExpiresAt) ||
		!got.Now().Equal(testClock) || !got.Scope.NamespaceIncluded("shop") || got.Scope.NamespaceIncluded("other") {
		t.Errorf("engine options: %+v", got)
	}
	if want := []string{StageOpen + " ", StageBackup + " ", StageBackup + " configmaps"}; !slices.Equal(stages, want) {
		t.Errorf("progress %q, want %q", stages, want)
	}
	if !strings.Contains(logs.String(), `msg="backing up" recoveryPoint=nightly-1 storage=mem:// namespaces=[shop] snapshotVolumes=false`) {
		t.Errorf("log:\n%s", logs)
	}
}

func TestBackupSnapshotsVolumes(t *testing.T) {
	r, _ := testRunner(t, memory.New())
	snaps := &snapshot.Snapshotter{}
	var asked snapshot.Options
	r.Engines.Snapshotter = func(_ *rest.Config, opts snapshot.Options) (*snapshot.Snapshotter, error) {
		asked = opts
		return snaps, nil
	}
	var got backup.Options
	r.Engines.Backup = func(_ context.Context, _ *rest.Config, _ *archive.Repository, opts backup.Options) (archive.RecoveryPoint, error) {
		got = opts
		return archive.RecoveryPoint{}, nil
	}
	req := BackupRequest{Repository: ref(testKey), Name: "nightly-1", Volumes: Volumes{Snapshot: true, Class: "csi-snap", Timeout: time.Minute}}
	if _, err := r.Backup(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if got.Volumes != snaps || asked.Class != "csi-snap" || asked.Timeout != time.Minute || asked.Now == nil || asked.Logger == nil {
		t.Errorf("snapshotter options %+v; the backup's %p, want %p", asked, got.Volumes, snaps)
	}
}

func TestBackupDeletesEarlierAttempts(t *testing.T) {
	r, logs := testRunner(t, memory.New())
	snaps := &snapshot.Snapshotter{}
	r.Engines.Snapshotter = func(*rest.Config, snapshot.Options) (*snapshot.Snapshotter, error) { return snaps, nil }
	var calls []string
	r.Engines.Delete = func(_ context.Context, _ *archive.Repository, name string, s *snapshot.Snapshotter) (backup.Deleted, error) {
		if s != snaps {
			t.Errorf("delete of %s without the snapshotter", name)
		}
		calls = append(calls, "delete "+name)
		switch name {
		case "gone-1":
			return backup.Deleted{}, archive.ErrBackupNotFound
		case "stuck-1":
			return backup.Deleted{}, errors.New("snapshot is locked")
		}
		return backup.Deleted{Name: name, Files: 3, SnapshotsDeleted: 1}, nil
	}
	var got backup.Options
	r.Engines.Backup = func(_ context.Context, _ *rest.Config, _ *archive.Repository, opts backup.Options) (archive.RecoveryPoint, error) {
		got = opts
		calls = append(calls, "backup "+opts.Name)
		return archive.RecoveryPoint{Name: opts.Name}, nil
	}
	res, err := r.Backup(t.Context(), BackupRequest{Repository: ref(testKey), Name: "nightly-2",
		DeleteEarlier: []string{"old-1", "gone-1", "Bad Name", "stuck-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"delete old-1", "delete gone-1", "delete stuck-1", "backup nightly-2"}; !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	if got.Volumes != nil {
		t.Error("the snapshotter made for the deletes snapshots volumes, which are off")
	}
	if len(res.Warnings) != 2 || !strings.HasPrefix(res.Warnings[0], `recovery point "Bad Name" of an earlier attempt not deleted: `) ||
		res.Warnings[1] != `recovery point "stuck-1" of an earlier attempt could not be deleted: snapshot is locked` {
		t.Errorf("warnings %q", res.Warnings)
	}
	for _, want := range []string{"deleted the recovery point of an earlier attempt\" recoveryPoint=old-1 files=3 snapshotsDeleted=1",
		"recovery point of an earlier attempt is already gone\" recoveryPoint=gone-1"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestBackupFailures(t *testing.T) {
	failing := func(r *Runner) {
		r.Engines.Backup = func(context.Context, *rest.Config, *archive.Repository, backup.Options) (archive.RecoveryPoint, error) {
			return archive.RecoveryPoint{}, errors.New("no cluster")
		}
	}
	for _, tc := range []struct {
		name   string
		req    BackupRequest
		change func(*Runner)
		result bool // whether a result comes back with the error
		want   string
	}{
		{name: "name", req: BackupRequest{Repository: ref(testKey), Name: "Bad Name"}, want: "recovery point: "},
		{name: "scope", req: BackupRequest{Repository: ref(testKey), Name: "b", Scope: scope.Spec{IncludeClusterResources: "maybe"}},
			want: "backup configuration: "},
		{name: "credential", req: BackupRequest{Name: "b", Repository: RepositoryRef{
			Credential: func() (archive.Credential, error) { return archive.Credential{}, errors.New("secret missing") }}},
			want: "secret missing"},
		{name: "hooks", req: BackupRequest{Repository: ref(testKey), Name: "b", Hooks: []string{"shop/freeze"}}, result: true,
			change: func(r *Runner) {
				r.Engines.BackupHooks = func(context.Context, *rest.Config, []string, func() time.Time, *slog.Logger) (*hooks.BackupRunner, error) {
					return nil, errors.New("BackupHook shop/freeze not found")
				}
			},
			want: "backup hooks: BackupHook shop/freeze not found"},
		{name: "engine", req: BackupRequest{Repository: ref(testKey), Name: "b"}, change: failing, result: true, want: `backup "b": no cluster`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := testRunner(t, memory.New())
			if tc.change != nil {
				tc.change(r)
			}
			res, err := r.Backup(t.Context(), tc.req)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || (res != nil) != tc.result {
				t.Errorf("result %+v, error %v; want an error starting %q, a result: %v", res, err, tc.want, tc.result)
			}
		})
	}
}

// TestBackupFSBackupNeedsAMoverImage: the engine gets the file-system backup whenever the mover
// has an image, in every volume data mode, and not without one; the copy of snapshots only in the
// copy modes.
func TestBackupFSBackupNeedsAMoverImage(t *testing.T) {
	cases := []struct {
		name        string
		data, image string
		fs, copies  bool
	}{
		{name: "snapshot mode without an image", data: archive.VolumeDataSnapshot},
		{name: "snapshot mode with an image", data: archive.VolumeDataSnapshot, image: "cairn:1", fs: true},
		{name: "copy mode", data: archive.VolumeDataCopy, image: "cairn:1", fs: true, copies: true},
	}
	for _, c := range cases {
		r, _ := testRunner(t, memory.New())
		r.Engines.Snapshotter = func(*rest.Config, snapshot.Options) (*snapshot.Snapshotter, error) {
			return &snapshot.Snapshotter{}, nil
		}
		var asked mover.Options
		r.Engines.Mover = func(_ *rest.Config, _ *snapshot.Snapshotter, opts mover.Options) (*mover.Mover, error) {
			asked = opts
			return &mover.Mover{}, nil
		}
		var got backup.Options
		r.Engines.Backup = func(_ context.Context, _ *rest.Config, _ *archive.Repository, opts backup.Options) (archive.RecoveryPoint, error) {
			got = opts
			return archive.RecoveryPoint{}, nil
		}
		req := BackupRequest{Repository: ref(testKey), Name: "nightly-1", Volumes: Volumes{Snapshot: true, Data: c.data,
			Mover: MoverOptions{Image: c.image, KubeletRoot: "/k"}}}
		if _, err := r.Backup(t.Context(), req); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (got.FSBackup != nil) != c.fs || (got.CopyVolumes != nil) != c.copies {
			t.Errorf("%s: file-system backup %v, copies %v", c.name, got.FSBackup != nil, got.CopyVolumes != nil)
		}
		if c.image != "" && (asked.Image != c.image || asked.KubeletRoot != "/k") {
			t.Errorf("%s: mover options %+v", c.name, asked)
		}
	}
}
