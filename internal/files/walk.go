package files

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// dirJob is a directory being backed up: its tree is stored when the last of its entries is
// done (files read, sub-directories' trees stored).
type dirJob struct {
	parent  *dirJob
	idx     int
	nodes   []filerepo.Node
	count   int
	pending atomic.Int64
}

// fileJob is a regular file for a reader.
type fileJob struct {
	path string
	dir  *dirJob
	idx  int
}

// done records that one entry of d is complete, and stores d's tree after the last.
func (d *dirJob) done(ctx context.Context, b *backuper) {
	if d.pending.Add(-1) != 0 {
		return
	}
	tree := filerepo.Tree{Nodes: d.nodes[:d.count]}
	data, err := filerepo.EncodeTree(&tree)
	if err != nil {
		b.w.fail(err)
		return
	}
	id := b.s.keys.ID(data)
	if b.w.claim(id) {
		if err := b.w.store(ctx, blobJob{typ: filerepo.TreeBlob, id: id, data: data}); err != nil {
			return
		}
	}
	if d.parent == nil {
		b.root <- id
		return
	}
	d.parent.nodes[d.idx].Subtree = &id
	d.parent.done(ctx, b)
}

// walk lists the directory at path into d, hands its files to the readers and walks its
// sub-directories; parent is the same directory's tree in the parent snapshot, if any. Only an
// unreadable top directory is an error; anything below is recorded in its node.
func (b *backuper) walk(ctx context.Context, path string, d *dirJob, parent *filerepo.Tree) error {
	b.nDirs.Add(1)
	names, dir, err := listDir(path)
	if err != nil {
		if d.parent == nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		d.parent.nodes[d.idx].Error = err.Error()
		b.nErrors.Add(1)
		d.pending.Store(1)
		d.done(ctx, b)
		return nil
	}
	defer dir.Close()
	dirfd := int(dir.Fd())
	d.nodes = make([]filerepo.Node, len(names))
	d.pending.Store(int64(len(names)) + 1)
	for _, name := range names {
		if ctx.Err() != nil {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if !errors.Is(err, unix.ENOENT) { // gone since the listing: not part of the snapshot
				b.nErrors.Add(1)
				b.s.log.Warn("cannot read an entry", "path", filepath.Join(path, name), "error", err.Error())
			}
			d.pending.Add(-1)
			continue
		}
		i := d.count
		d.count++
		n := nodeFromStat(name, &st, b.names)
		child := filepath.Join(path, name)
		prev := findNode(parent, name)
		if prev != nil && prev.Type == n.Type && prev.Inode == n.Inode && prev.CTime == n.CTime && prev.Error == "" {
			n.Xattrs = prev.Xattrs // setting an attribute changes the change time
		} else if xa, err := readXattrs(child); err != nil {
			n.Error = "extended attributes: " + err.Error()
			b.nErrors.Add(1)
		} else {
			n.Xattrs = xa
		}
		switch n.Type {
		case filerepo.TypeFile:
			b.nFiles.Add(1)
			b.nBytes.Add(n.Size)
			if b.unchanged(prev, &n) {
				n.Content = prev.Content
				b.nUnchanged.Add(1)
				d.nodes[i] = n
				d.done(ctx, b)
				continue
			}
			d.nodes[i] = n
			select {
			case b.files <- fileJob{path: child, dir: d, idx: i}:
			case <-ctx.Done():
				return nil
			}
		case filerepo.TypeDir:
			d.nodes[i] = n
			var sub *filerepo.Tree
			if prev != nil && prev.Type == filerepo.TypeDir && prev.Subtree != nil {
				sub, _ = b.s.loadTree(ctx, b.x, *prev.Subtree) // unreadable: read everything below
			}
			b.walkDir(ctx, child, &dirJob{parent: d, idx: i}, sub)
		case filerepo.TypeSymlink:
			b.nLinks.Add(1)
			if target, err := readlinkat(dirfd, name); err != nil {
				n.Error = err.Error()
				b.nErrors.Add(1)
			} else {
				n.Target = target
			}
			d.nodes[i] = n
			d.done(ctx, b)
		default:
			b.nOthers.Add(1)
			d.nodes[i] = n
			d.done(ctx, b)
		}
	}
	d.done(ctx, b)
	return nil
}

// walkDir walks a sub-directory in a goroutine of its own while fewer than walkers run, in this
// one otherwise. A sub-directory's walk has no error to return: what goes wrong below the top is
// recorded in its nodes.
func (b *backuper) walkDir(ctx context.Context, path string, d *dirJob, parent *filerepo.Tree) {
	select {
	case b.walkers <- struct{}{}:
		go func() {
			defer func() { <-b.walkers }()
			_ = b.walk(ctx, path, d, parent)
		}()
	default:
		_ = b.walk(ctx, path, d, parent)
	}
}

// unchanged reports whether the parent snapshot's node describes the same file content: same
// size, modification and change times and inode, every chunk still stored (§12, incremental).
func (b *backuper) unchanged(prev, n *filerepo.Node) bool {
	if prev == nil || prev.Type != filerepo.TypeFile || prev.Error != "" || prev.Size != n.Size ||
		prev.MTime != n.MTime || prev.CTime != n.CTime || prev.Inode != n.Inode {
		return false
	}
	for _, c := range prev.Content {
		if c.Hole == 0 && !b.w.known(c.ID) {
			return false
		}
	}
	return true
}

func findNode(t *filerepo.Tree, name string) *filerepo.Node {
	if t == nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(t.Nodes, name, func(n filerepo.Node, name string) int { return strings.Compare(n.Name, name) })
	if !ok {
		return nil
	}
	return &t.Nodes[i]
}

// listDir opens a directory and returns its entry names, sorted.
func listDir(path string) ([]string, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	slices.Sort(names)
	return names, f, nil
}

func readlinkat(dirfd int, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}
