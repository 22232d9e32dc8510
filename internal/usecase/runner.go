package usecase

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/hooks"
	"github.com/cairnbackup/cairn/internal/mover"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// Runner runs backups and restores against one cluster.
type Runner struct {
	// Config reaches the cluster.
	Config *rest.Config
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives what the run does (default: discarded).
	Logger *slog.Logger
	// Engines are the calls into the engines, the storage and the cluster; a zero field is the
	// real one.
	Engines Engines
}

// Engines are the calls a use case makes into the engines, the storage and the cluster. Tests
// replace them with fakes.
type Engines struct {
	// OpenStorage opens a location's storage (default: package blobopen, with the location's
	// metrics).
	OpenStorage func(ctx context.Context, loc Location) (blob.Storage, error)
	// Backup is backup.Run.
	Backup func(ctx context.Context, cfg *rest.Config, repo *archive.Repository, opts backup.Options) (archive.RecoveryPoint, error)
	// Restore is restore.Run.
	Restore func(ctx context.Context, cfg *rest.Config, repo *archive.Repository, opts restore.Options) (*restore.Result, error)
	// Delete is backup.Delete.
	Delete func(ctx context.Context, repo *archive.Repository, name string, snaps *snapshot.Snapshotter) (backup.Deleted, error)
	// Mover is mover.New.
	Mover func(cfg *rest.Config, snaps *snapshot.Snapshotter, opts mover.Options) (*mover.Mover, error)
	// Snapshotter is snapshot.New.
	Snapshotter func(cfg *rest.Config, opts snapshot.Options) (*snapshot.Snapshotter, error)
	// BackupHooks is LoadBackupHooks.
	BackupHooks func(ctx context.Context, cfg *rest.Config, refs []string, now func() time.Time, log *slog.Logger) (*hooks.BackupRunner, error)
	// RestoreHooks is LoadRestoreHooks.
	RestoreHooks func(ctx context.Context, cfg *rest.Config, refs []string, now func() time.Time, log *slog.Logger) (*hooks.RestoreRunner, error)
	// KubernetesVersion reads the cluster's version (default: its /version endpoint).
	KubernetesVersion func(ctx context.Context, cfg *rest.Config) (string, error)
	// MissingAccess returns the operations of needed that the cluster's user may not do (default:
	// self subject access reviews).
	MissingAccess func(ctx context.Context, cfg *rest.Config, needed []Access) ([]Access, error)
}

// Stages of a run, as Progress reports them.
const (
	StageOpen      = "opening the repository"
	StageBackup    = "backing up"
	StagePreflight = "pre-flight checks"
	StageConflicts = "checking conflicts (dry run)"
	StageRestore   = "restoring"
	StageCopy      = "copying volume data"
	StageFSBackup  = "backing up volumes through their files"
)

// Progress is where a run is: its stage and, within it, the items and bytes done so far and the
// resource type at hand (empty when the stage just began).
type Progress struct {
	Stage    string
	Items    int64
	Bytes    int64
	Resource string
}

// withDefaults is a copy of r with the real engines, clock and logger where r leaves them unset.
func (r *Runner) withDefaults() *Runner {
	c := *r
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	e := &c.Engines
	if e.OpenStorage == nil {
		e.OpenStorage = openStorage
	}
	if e.Backup == nil {
		e.Backup = backup.Run
	}
	if e.Restore == nil {
		e.Restore = restore.Run
	}
	if e.Delete == nil {
		e.Delete = backup.Delete
	}
	if e.Mover == nil {
		e.Mover = mover.New
	}
	if e.Snapshotter == nil {
		e.Snapshotter = snapshot.New
	}
	if e.BackupHooks == nil {
		e.BackupHooks = LoadBackupHooks
	}
	if e.RestoreHooks == nil {
		e.RestoreHooks = LoadRestoreHooks
	}
	if e.KubernetesVersion == nil {
		e.KubernetesVersion = kubernetesVersion
	}
	if e.MissingAccess == nil {
		e.MissingAccess = missingAccess
	}
	return &c
}

// open opens the repository of ref, with the front end's wording of errors; it returns the
// credential too, for a second look at the same repository.
func (r *Runner) open(ctx context.Context, ref RepositoryRef, create bool) (*archive.Repository, archive.Credential, error) {
	cred, err := ref.Credential()
	if err != nil {
		return nil, cred, err
	}
	repo, err := openRepository(ctx, r.Engines.OpenStorage, ref.Location, cred,
		OpenOptions{Create: create, Encrypt: ref.Encrypt, Now: r.Now, Initialised: ref.Initialised})
	if err != nil {
		err = ref.explain(err)
	}
	return repo, cred, err
}

// report calls progress, if set.
func report(progress func(Progress), p Progress) {
	if progress != nil {
		progress(p)
	}
}
