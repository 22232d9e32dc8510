package files

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/blob"
)

// RestoreOptions adjust a restore.
type RestoreOptions struct {
	// Workers read packs and write files in parallel (default 2×GOMAXPROCS).
	Workers int
	// Progress, when set, is called about once a second and at the end.
	Progress func(Progress)
}

// RestoreSummary counts what a restore made.
type RestoreSummary struct {
	Files    int64         `json:"files"`
	Dirs     int64         `json:"dirs"`
	Links    int64         `json:"links"`
	Others   int64         `json:"others"`
	Bytes    int64         `json:"bytes"`
	Errors   int64         `json:"errors"`
	Duration time.Duration `json:"durationNanoseconds"`
	// Problems are the entries that could not be restored whole, one line each.
	Problems []string `json:"problems,omitempty"`
}

// Restore writes the snapshot's tree, or the part at sub (a slash-separated path inside it),
// into target, which must not exist or be empty. A device snapshot's image may instead be
// written onto a block device as large (format §13.3). Content is verified as it is read.
func (s *Store) Restore(ctx context.Context, snap *filerepo.Snapshot, sub, target string, opts RestoreOptions) (RestoreSummary, error) {
	start := s.clock()
	device, err := statBlockDevice(target)
	if err != nil {
		return RestoreSummary{}, fmt.Errorf("restore into %s: %w", target, err)
	}
	if !device {
		if err := prepareTarget(target); err != nil {
			return RestoreSummary{}, err
		}
	}
	lock, err := s.lock(ctx, filerepo.LockRestore, false)
	if err != nil {
		return RestoreSummary{}, err
	}
	defer func() { _ = lock.Release(ctx) }()
	x, dir, node, err := s.locate(ctx, snap, sub)
	if err != nil {
		return RestoreSummary{}, err
	}
	r := &restorer{s: s, x: x, byPack: map[filerepo.Name][]*blobUse{}, links: map[[2]uint64]string{}}
	switch {
	case device:
		err = r.device(target, snap, sub, dir, node)
	case node != nil: // one entry, restored by its name into target
		err = r.entry(ctx, filepath.Join(target, node.Name), node)
	default:
		err = r.dir(ctx, target, dir)
	}
	if err != nil {
		return RestoreSummary{}, err
	}
	if opts.Workers <= 0 {
		opts.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	stop := r.reportProgress(ctx, opts.Progress, start)
	err = r.writeContent(ctx, opts.Workers)
	stop()
	if err == nil && device {
		err = syncDevice(target)
	}
	if err != nil {
		return RestoreSummary{}, err
	}
	r.finish()
	sum := RestoreSummary{Files: r.nFiles.Load(), Dirs: r.nDirs.Load(), Links: r.nLinks.Load(), Others: r.nOthers.Load(),
		Bytes: r.nBytes.Load(), Errors: int64(len(r.problems)), Problems: r.problems, Duration: s.clock().Sub(start)}
	return sum, nil
}

// prepareTarget makes target, or accepts it when it is an empty directory.
func prepareTarget(target string) error {
	entries, err := os.ReadDir(target)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(target, 0o700); err != nil {
			return fmt.Errorf("restore into %s: %w", target, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("restore into %s: %w", target, err)
	case len(entries) == 1 && entries[0].Name() == lostFound && entries[0].IsDir():
		// A fresh ext4 file system holds lost+found: it counts as empty.
	case len(entries) > 0:
		return fmt.Errorf("restore into %s: the directory is not empty; restore into a new or empty directory", target)
	}
	return nil
}

// lostFound is the directory mkfs.ext4 puts at the root of a file system.
const lostFound = "lost+found"

// keptLostFound reports whether mkdir failed only because the target's lost+found is there.
func keptLostFound(dst string, err error) bool {
	return errors.Is(err, os.ErrExist) && filepath.Base(dst) == lostFound
}

// blobUse is where one chunk goes: a file and an offset in it.
type blobUse struct {
	loc  filerepo.Location
	file *restoreFile
	off  int64
}

// restoreFile is a regular file being restored. The first chunk written creates it at its full
// size (holes stay holes), so files are made in parallel; its metadata is applied after its last
// chunk.
type restoreFile struct {
	path      string
	node      *filerepo.Node
	remaining atomic.Int64
	created   sync.Once
	createErr error
	// device is set when path is a block device the image is written onto; holes lists the
	// image's holes, which a device gets as zeros.
	device bool
	holes  []extent
}

// create makes the file at its full size, once; a device is checked and its holes zeroed.
func (f *restoreFile) create() error {
	f.created.Do(func() {
		var fd int
		var err error
		if f.device {
			if fd, err = openDevice(f.path, f.node.Size); err != nil {
				f.createErr = err
				return
			}
			for _, h := range f.holes {
				if err = zeroRange(fd, h.off, h.len); err != nil {
					break
				}
			}
		} else if fd, err = unix.Open(f.path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600); err == nil {
			err = unix.Ftruncate(fd, f.node.Size)
		} else {
			f.createErr = err
			return
		}
		if cerr := unix.Close(fd); err == nil {
			err = cerr
		}
		f.createErr = err
	})
	return f.createErr
}

type dirMeta struct {
	path string
	node *filerepo.Node
}

type restorer struct {
	s      *Store
	x      *filerepo.Index
	byPack map[filerepo.Name][]*blobUse
	links  map[[2]uint64]string // device, inode → the first path restored
	later  []hardLink
	dirs   []dirMeta

	mu       sync.Mutex
	problems []string

	// reload reads the index again when a pack went (moved).
	reload   sync.Once
	fresh    *filerepo.Index
	freshErr error

	nFiles, nDirs, nLinks, nOthers, nBytes, nWritten atomic.Int64
}

type hardLink struct{ path, to string }

func (r *restorer) problem(path string, err error) {
	r.mu.Lock()
	r.problems = append(r.problems, fmt.Sprintf("%s: %v", path, err))
	r.mu.Unlock()
}

// dir makes the entries of t inside the existing directory at dst.
func (r *restorer) dir(ctx context.Context, dst string, t *filerepo.Tree) error {
	for i := range t.Nodes {
		if err := r.entry(ctx, filepath.Join(dst, t.Nodes[i].Name), &t.Nodes[i]); err != nil {
			return err
		}
	}
	return nil
}

// entry makes one node at dst. Errors of the node are problems; only errors of the store stop
// the restore.
func (r *restorer) entry(ctx context.Context, dst string, n *filerepo.Node) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	switch n.Type {
	case filerepo.TypeDir:
		r.nDirs.Add(1)
		if err := os.Mkdir(dst, 0o700); err != nil && !keptLostFound(dst, err) {
			r.problem(dst, err)
			return nil
		}
		t, err := r.s.loadTree(ctx, r.x, *n.Subtree)
		if err != nil {
			return fmt.Errorf("%s: %w", dst, err)
		}
		if err := r.dir(ctx, dst, t); err != nil {
			return err
		}
		r.dirs = append(r.dirs, dirMeta{path: dst, node: n})
	case filerepo.TypeFile:
		r.nFiles.Add(1)
		return r.file(dst, n)
	case filerepo.TypeSymlink:
		r.nLinks.Add(1)
		if err := os.Symlink(n.Target, dst); err != nil {
			r.problem(dst, err)
			return nil
		}
		r.applyMeta(dst, n)
	default:
		r.nOthers.Add(1)
		if err := makeSpecial(dst, n); err != nil {
			r.problem(dst, err)
			return nil
		}
		r.applyMeta(dst, n)
	}
	return nil
}

// device plans the writing of a device snapshot's image onto the block device at dst.
func (r *restorer) device(dst string, snap *filerepo.Snapshot, sub string, root *filerepo.Tree, node *filerepo.Node) error {
	if node != nil {
		root = &filerepo.Tree{Nodes: []filerepo.Node{*node}}
	}
	n, err := deviceImage(snap, sub, root)
	if err != nil {
		return err
	}
	r.nFiles.Add(1)
	rf := &restoreFile{path: dst, node: n, device: true}
	r.plan(rf)
	if err := rf.create(); err != nil { // before any pack is read: a device too small fails the restore
		return fmt.Errorf("restore onto %s: %w", dst, err)
	}
	return nil
}

// file creates a regular file at its full size (holes stay holes) and plans its chunks.
func (r *restorer) file(dst string, n *filerepo.Node) error {
	if n.Links > 1 {
		key := [2]uint64{n.Device, n.Inode}
		if first, ok := r.links[key]; ok {
			r.later = append(r.later, hardLink{path: dst, to: first})
			return nil
		}
		r.links[key] = dst
	}
	r.plan(&restoreFile{path: dst, node: n})
	return nil
}

// plan queues the chunks of rf by pack, or makes it now when it has none.
func (r *restorer) plan(rf *restoreFile) {
	dst, n := rf.path, rf.node
	var off int64
	var uses []*blobUse
	for _, c := range n.Content {
		if c.Hole > 0 {
			if rf.device {
				rf.holes = append(rf.holes, extent{off: off, len: c.Hole, hole: true})
			}
			off += c.Hole
			continue
		}
		loc, ok := r.x.Lookup(c.ID)
		if !ok {
			r.problem(dst, fmt.Errorf("chunk %s is in no pack the index lists", c.ID))
			return
		}
		uses = append(uses, &blobUse{loc: loc, file: rf, off: off})
		off += int64(loc.RawLength)
	}
	r.nBytes.Add(n.Size)
	if len(uses) == 0 {
		if err := rf.create(); err != nil {
			r.problem(dst, err)
			return
		}
		r.fileMeta(rf)
		return
	}
	rf.remaining.Store(int64(len(uses)))
	for _, u := range uses {
		r.byPack[u.loc.Pack] = append(r.byPack[u.loc.Pack], u)
	}
}

// writeContent reads each pack with chunks to restore once, in parallel, and writes its
// chunks where they go.
func (r *restorer) writeContent(ctx context.Context, workers int) error {
	packs := make([]filerepo.Name, 0, len(r.byPack))
	for p, uses := range r.byPack {
		packs = append(packs, p)
		slices.SortFunc(uses, func(a, b *blobUse) int { return cmp.Compare(a.loc.Offset, b.loc.Offset) })
	}
	slices.SortFunc(packs, func(a, b filerepo.Name) int { return strings.Compare(a.String(), b.String()) })
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, p := range packs {
		g.Go(func() error { return r.restorePack(gctx, p, r.byPack[p]) })
	}
	return g.Wait()
}

// maxGap is the most unneeded bytes a ranged read of a pack spans to save a request, and maxSpan
// the most bytes one read takes (a worker's buffer).
const (
	maxGap  = 1 << 20
	maxSpan = 8 << 20
)

// restoreBuffers are a worker's read span and plaintext, kept between packs.
type restoreBuffers struct{ span, plain []byte }

var restoreBufferPool = sync.Pool{New: func() any { return new(restoreBuffers) }}

func (r *restorer) restorePack(ctx context.Context, pack filerepo.Name, uses []*blobUse) error {
	bufs := restoreBufferPool.Get().(*restoreBuffers)
	defer restoreBufferPool.Put(bufs)
	buf, plain := bufs.span, bufs.plain
	defer func() { bufs.span, bufs.plain = buf[:0], plain[:0] }()
	for i := 0; i < len(uses); {
		// One read covers a run of chunks with small gaps between them.
		first := uses[i].loc
		end := int64(first.Offset) + int64(first.Length)
		j := i + 1
		for j < len(uses) {
			l := uses[j].loc
			if int64(l.Offset) > end+maxGap || int64(l.Offset)+int64(l.Length)-int64(first.Offset) > maxSpan {
				break
			}
			end = max(end, int64(l.Offset)+int64(l.Length))
			j++
		}
		var err error
		buf, err = filerepo.ReadRange(ctx, r.s.st, filerepo.PackKey(pack), int64(first.Offset), end-int64(first.Offset), buf)
		if errors.Is(err, blob.ErrNotFound) {
			return r.moved(ctx, pack, uses[i:])
		}
		if err != nil {
			return err
		}
		var last filerepo.ID
		for k := i; k < j; k++ {
			u := uses[k]
			l := u.loc
			if k == i || l.ID != last {
				sealed := buf[int64(l.Offset)-int64(first.Offset):][:l.Length]
				if plain, err = r.s.codec.Open(plain[:0], l.Type, l.ID, int(l.RawLength), sealed); err != nil {
					return fmt.Errorf("pack %s: %w", pack, err)
				}
				last = l.ID
			}
			r.write(u, plain)
		}
		i = j
	}
	return nil
}

// moved restores chunks planned in a pack that a collection removed meanwhile, having copied
// what was in use elsewhere (§16): it reads the index again, once for the whole restore, and
// reads each chunk where it is now.
func (r *restorer) moved(ctx context.Context, pack filerepo.Name, uses []*blobUse) error {
	r.reload.Do(func() { r.fresh, r.freshErr = filerepo.LoadIndex(ctx, r.s.st, r.s.keys) })
	if r.freshErr != nil {
		return r.freshErr
	}
	var plain []byte
	for _, u := range uses {
		loc, ok := r.fresh.Lookup(u.loc.ID)
		if !ok || loc.Pack == pack {
			return fmt.Errorf("pack %s is gone and the index lists chunk %s nowhere else: %w", pack, u.loc.ID, blob.ErrNotFound)
		}
		var err error
		if plain, err = r.s.readBlob(ctx, loc, plain[:0]); err != nil {
			return err
		}
		r.write(u, plain)
	}
	return nil
}

func (r *restorer) write(u *blobUse, data []byte) {
	err := u.file.create()
	if err == nil {
		err = pwriteFile(u.file.path, data, u.off)
	}
	if err != nil {
		r.problem(u.file.path, err)
	}
	r.nWritten.Add(int64(len(data)))
	if u.file.remaining.Add(-1) == 0 {
		r.fileMeta(u.file)
	}
}

// fileMeta applies a restored file's metadata; a device keeps its own.
func (r *restorer) fileMeta(f *restoreFile) {
	if !f.device {
		r.applyMeta(f.path, f.node)
	}
}

// finish makes the hard links, then applies directories' metadata deepest first.
func (r *restorer) finish() {
	for _, l := range r.later {
		if err := os.Link(l.to, l.path); err != nil {
			r.problem(l.path, err)
		}
	}
	for i := len(r.dirs) - 1; i >= 0; i-- {
		r.applyMeta(r.dirs[i].path, r.dirs[i].node)
	}
}

// applyMeta sets owner (when permitted), mode, extended attributes and times.
func (r *restorer) applyMeta(p string, n *filerepo.Node) {
	if err := unix.Lchown(p, int(n.UID), int(n.GID)); err != nil && !errors.Is(err, unix.EPERM) {
		r.problem(p, fmt.Errorf("owner: %w", err))
	}
	for _, xa := range n.Xattrs {
		if err := unix.Lsetxattr(p, xa.Name, xa.Value, 0); err != nil && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.ENOTSUP) {
			r.problem(p, fmt.Errorf("extended attribute %s: %w", xa.Name, err))
		}
	}
	if n.Type != filerepo.TypeSymlink {
		if err := unix.Chmod(p, n.Mode); err != nil {
			r.problem(p, fmt.Errorf("mode: %w", err))
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(n.ATime), unix.NsecToTimespec(n.MTime)}
	if n.ATime == 0 {
		ts[0] = ts[1]
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		r.problem(p, fmt.Errorf("times: %w", err))
	}
}

func makeSpecial(p string, n *filerepo.Node) error {
	switch n.Type {
	case filerepo.TypeFifo:
		return unix.Mkfifo(p, 0o600)
	case filerepo.TypeCharDev:
		return unix.Mknod(p, unix.S_IFCHR|0o600, int(n.RDev))
	case filerepo.TypeBlockDev:
		return unix.Mknod(p, unix.S_IFBLK|0o600, int(n.RDev))
	case filerepo.TypeSocket:
		return errors.New("sockets are not restored (a program makes them when it listens)")
	}
	return fmt.Errorf("unknown type %q", n.Type)
}

func (r *restorer) reportProgress(ctx context.Context, fn func(Progress), start time.Time) (stop func()) {
	if fn == nil {
		return func() {}
	}
	snap := func() Progress {
		return Progress{Files: r.nFiles.Load(), Dirs: r.nDirs.Load(), Bytes: r.nWritten.Load(), ReadBytes: r.nWritten.Load(),
			TotalBytes: r.nBytes.Load(), Elapsed: r.s.clock().Sub(start)}
	}
	return ticker(ctx, func() { fn(snap()) })
}

// ticker calls fn every second until stop, and once more at stop.
func ticker(ctx context.Context, fn func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fn()
			case <-done:
				fn()
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// pwriteFile writes data at off in the existing file at path (raw calls: an os.File would
// register every one of tens of thousands of files with the poller).
func pwriteFile(path string, data []byte, off int64) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	for len(data) > 0 && err == nil {
		var n int
		n, err = unix.Pwrite(fd, data, off)
		data, off = data[n:], off+int64(n)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	return err
}
