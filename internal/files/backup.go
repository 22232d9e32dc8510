package files

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// BackupOptions say what a backup is of and how it runs.
type BackupOptions struct {
	// Source names what is backed up; the newest snapshot of the same source is the parent.
	// Default: hostname:absolute path.
	Source string
	Tags   map[string]string
	// NoParent reads every file even when a parent snapshot exists.
	NoParent bool
	// Readers and Sealers size the pipeline (defaults: 2×GOMAXPROCS readers, GOMAXPROCS sealers).
	Readers, Sealers int
	// CairnVersion is recorded in the snapshot.
	CairnVersion string
	// Progress, when set, is called about once a second and at the end.
	Progress func(Progress)
	// EstimateTotal counts the source's files and bytes beside the backup, for Progress's
	// totals (an ETA on a terminal); it costs a second walk's metadata reads.
	EstimateTotal bool
}

// Progress is a running backup's or restore's counters.
type Progress struct {
	Files, Dirs, Bytes, ReadBytes, AddedBytes, Errors int64
	// TotalFiles and TotalBytes are what a backup will go through, once a scan that runs
	// beside it has counted them (zero until then); for a restore, the snapshot's.
	TotalFiles, TotalBytes int64
	Elapsed                time.Duration
}

// Backup stores the tree at dir as a new snapshot and returns it (§14's write order).
func (s *Store) Backup(ctx context.Context, dir string, opts BackupOptions) (*filerepo.Snapshot, error) {
	start := s.clock()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("back up %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("back up %s: %w", dir, err)
	}
	device := isBlockDevice(fi)
	if !fi.IsDir() && !device {
		return nil, fmt.Errorf("back up %s: not a directory or a block device", dir)
	}
	host, _ := os.Hostname()
	if opts.Source == "" {
		opts.Source = host + ":" + abs
	}
	lock, err := s.lock(ctx, filerepo.LockBackup, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = lock.Release(ctx) }()

	cfg, err := filerepo.InitConfig(ctx, s.st, s.keys, s.clock())
	if err != nil {
		return nil, err
	}
	x, err := filerepo.LoadIndex(ctx, s.st, s.keys)
	if err != nil {
		return nil, err
	}
	usable, err := s.condemned(ctx)
	if err != nil {
		return nil, err
	}
	var parent *filerepo.Snapshot
	if !opts.NoParent {
		snaps, err := s.Snapshots(ctx)
		if err != nil {
			return nil, err
		}
		if p, err := filerepo.FindSnapshot(snaps, "latest", opts.Source); err == nil {
			parent = p
		}
	}
	procs := runtime.GOMAXPROCS(0)
	if opts.Readers <= 0 {
		opts.Readers = 2 * procs
	}
	if opts.Sealers <= 0 {
		opts.Sealers = procs
	}
	w, wctx := newWriter(ctx, s, x, cfg.PackSize, opts.Sealers, usable)
	b := &backuper{s: s, w: w, x: x, cfg: cfg.Chunker, names: newOwnerNames(), bufs: newBufferPool(1),
		files: make(chan fileJob, 4*opts.Readers), root: make(chan filerepo.ID, 1), walkers: make(chan struct{}, procs)}
	stopProgress := b.reportProgress(wctx, abs, opts, start)
	readersDone := make(chan struct{})
	go func() {
		b.runReaders(wctx, opts.Readers)
		close(readersDone)
	}()

	if device {
		err = b.device(wctx, abs, start)
	} else {
		err = b.walk(wctx, abs, &dirJob{}, s.parentTree(ctx, x, parent))
	}
	if err != nil {
		w.fail(err)
	}
	var rootID filerepo.ID
	select {
	case rootID = <-b.root:
	case <-wctx.Done():
	}
	close(b.files)
	<-readersDone
	err = w.close(wctx)
	stopProgress()
	if err != nil {
		return nil, fmt.Errorf("back up %s: %w", dir, err)
	}
	if err := lock.Err(); err != nil {
		return nil, fmt.Errorf("back up %s: the lock could not be refreshed, so a collection may have run: %w", dir, err)
	}
	snap := &filerepo.Snapshot{Time: start.UTC(), Source: opts.Source, Path: abs, Hostname: host, Tags: opts.Tags,
		Tree: rootID, CairnVersion: opts.CairnVersion, Summary: b.summary(w, s.clock().Sub(start)), Device: device}
	if parent != nil {
		snap.Parent = parent.ID
	}
	if err := filerepo.SaveSnapshot(ctx, s.repo, snap); err != nil {
		return nil, err
	}
	return snap, nil
}

// backuper is one backup's walk and readers.
type backuper struct {
	s     *Store
	w     *writer
	x     *filerepo.Index
	cfg   filerepo.ChunkerConfig
	names *ownerNames
	bufs  *bufferPool
	files chan fileJob
	// walkers bounds the goroutines walking sub-directories beside the first.
	walkers chan struct{}
	root    chan filerepo.ID

	nFiles, nDirs, nLinks, nOthers, nBytes, nRead, nUnchanged, nErrors atomic.Int64
}

func (b *backuper) summary(w *writer, d time.Duration) filerepo.Summary {
	return filerepo.Summary{Files: b.nFiles.Load(), Dirs: b.nDirs.Load(), Links: b.nLinks.Load(), Others: b.nOthers.Load(),
		Bytes: b.nBytes.Load(), ReadBytes: b.nRead.Load(), UnchangedFiles: b.nUnchanged.Load(),
		NewBlobs: w.newBlobs.Load(), NewRawBytes: w.newRaw.Load(), AddedBytes: w.added.Load(),
		DurationSeconds: d.Seconds(), Errors: b.nErrors.Load()}
}

// parentTree is the parent snapshot's root tree, whose unchanged files are not read again; nil
// when there is no parent or its tree cannot be read (then every file is read).
func (s *Store) parentTree(ctx context.Context, x *filerepo.Index, parent *filerepo.Snapshot) *filerepo.Tree {
	if parent == nil || parent.Device {
		return nil
	}
	t, err := s.loadTree(ctx, x, parent.Tree)
	if err != nil {
		s.log.Warn("the parent snapshot's tree cannot be read; reading every file", "snapshot", parent.ID, "error", err.Error())
		return nil
	}
	return t
}

func (b *backuper) reportProgress(ctx context.Context, root string, opts BackupOptions, start time.Time) (stop func()) {
	fn := opts.Progress
	if fn == nil {
		return func() {}
	}
	var totalFiles, totalBytes atomic.Int64
	if opts.EstimateTotal {
		go func() {
			files, bytes := scan(ctx, root)
			totalFiles.Store(files)
			totalBytes.Store(bytes)
		}()
	}
	snap := func() Progress {
		return Progress{Files: b.nFiles.Load(), Dirs: b.nDirs.Load(), Bytes: b.nBytes.Load(), ReadBytes: b.nRead.Load(),
			AddedBytes: b.w.added.Load(), Errors: b.nErrors.Load(), TotalFiles: totalFiles.Load(), TotalBytes: totalBytes.Load(),
			Elapsed: b.s.clock().Sub(start)}
	}
	return ticker(ctx, func() { fn(snap()) })
}

// scan counts the regular files under root and their bytes, for a backup's estimate of what
// is left.
func scan(ctx context.Context, root string) (files, bytes int64) {
	if device, _ := statBlockDevice(root); device {
		size, _ := deviceSize(root)
		return 1, size
	}
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				files++
				bytes += fi.Size()
			}
		}
		return nil
	})
	return files, bytes
}
