package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// Errors of ReadFile.
var (
	// ErrNotRegularFile: the path names a directory, a link or a special file.
	ErrNotRegularFile = errors.New("not a regular file")
	// ErrFileTooLarge: the file is larger than the caller's limit.
	ErrFileTooLarge = errors.New("file too large")
)

// zeros fills the holes of sparse files.
var zeros [64 << 10]byte

// StatFile returns the node of the regular file at sub in the snapshot, checking that it is a
// regular file no larger than maxBytes (0: no limit) that the backup read whole.
func (s *Store) StatFile(ctx context.Context, snap *filerepo.Snapshot, sub string, maxBytes int64) (filerepo.Node, error) {
	_, n, err := s.statFile(ctx, snap, sub, maxBytes)
	if err != nil {
		return filerepo.Node{}, err
	}
	return *n, nil
}

func (s *Store) statFile(ctx context.Context, snap *filerepo.Snapshot, sub string, maxBytes int64) (*filerepo.Index, *filerepo.Node, error) {
	x, _, n, err := s.locate(ctx, snap, sub)
	if err != nil {
		return nil, nil, err
	}
	p := path.Clean("/" + sub)[1:]
	switch {
	case n == nil:
		return nil, nil, fmt.Errorf("%q is the snapshot's root directory: %w", "/", ErrNotRegularFile)
	case n.Type != filerepo.TypeFile:
		return nil, nil, fmt.Errorf("%s is a %s: %w", p, n.Type, ErrNotRegularFile)
	case maxBytes > 0 && n.Size > maxBytes:
		return nil, nil, fmt.Errorf("%s has %d bytes, over the limit of %d: %w", p, n.Size, maxBytes, ErrFileTooLarge)
	case n.Error != "":
		return nil, nil, fmt.Errorf("%s was not read whole by its backup: %s", p, n.Error)
	}
	return x, n, nil
}

// ReadFile writes the content of the regular file at sub in the snapshot to w, in order, holes as
// zeros, and returns its node. Each blob is authenticated and checked against its ID before any
// of it is written: damage stops the read with an error, never with wrong bytes. A file larger
// than maxBytes (0: no limit) is refused before anything is read. It holds a shared lock, like a
// restore, so that no collection removes the packs it reads.
func (s *Store) ReadFile(ctx context.Context, snap *filerepo.Snapshot, sub string, w io.Writer, maxBytes int64) (filerepo.Node, error) {
	lock, err := s.lock(ctx, filerepo.LockRestore, false)
	if err != nil {
		return filerepo.Node{}, err
	}
	defer func() { _ = lock.Release(ctx) }()
	x, n, err := s.statFile(ctx, snap, sub, maxBytes)
	if err != nil {
		return filerepo.Node{}, err
	}
	var written int64
	var buf []byte
	for _, c := range n.Content {
		if err := ctx.Err(); err != nil {
			return *n, err
		}
		if c.Hole > 0 {
			for left := c.Hole; left > 0; {
				k := min(left, int64(len(zeros)))
				if _, err := w.Write(zeros[:k]); err != nil {
					return *n, fmt.Errorf("write %s: %w", n.Name, err)
				}
				left -= k
			}
			written += c.Hole
			continue
		}
		loc, ok := x.Lookup(c.ID)
		if !ok {
			return *n, fmt.Errorf("%s: data blob %s is in no pack the index lists", n.Name, c.ID)
		}
		if loc.Type != filerepo.DataBlob {
			return *n, fmt.Errorf("%s: blob %s is %s, not data", n.Name, c.ID, loc.Type)
		}
		if buf, err = s.readBlob(ctx, loc, buf[:0]); err != nil {
			return *n, fmt.Errorf("%s: %w", n.Name, err)
		}
		if _, err := w.Write(buf); err != nil {
			return *n, fmt.Errorf("write %s: %w", n.Name, err)
		}
		written += int64(len(buf))
	}
	if written != n.Size {
		return *n, fmt.Errorf("%s: its content holds %d bytes, its record %d: %w", n.Name, written, n.Size, filerepo.ErrTampered)
	}
	return *n, nil
}
