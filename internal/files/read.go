package files

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	chunkers "github.com/PlakarKorp/go-cdc-chunkers"
	_ "github.com/PlakarKorp/go-cdc-chunkers/chunkers/fastcdc" // registers the algorithm of filerepo.ChunkerFastCDC
	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

func (b *backuper) runReaders(ctx context.Context, n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.reader(ctx)
		}()
	}
	wg.Wait()
}

func (b *backuper) reader(ctx context.Context) {
	ch, err := newChunker(b.cfg)
	if err != nil {
		b.w.fail(err)
		return
	}
	for j := range b.files {
		if ctx.Err() != nil {
			continue
		}
		node := &j.dir.nodes[j.idx]
		content, size, err := b.readFile(ctx, j.path, node.Size, ch)
		if ctx.Err() != nil {
			continue
		}
		node.Content = content
		if err != nil {
			node.Error = err.Error()
			b.nErrors.Add(1)
			b.s.log.Warn("cannot read a file", "path", j.path, "error", err.Error())
		}
		if size != node.Size { // the file changed while it was read: record what was read
			b.nBytes.Add(size - node.Size)
			node.Size = size
		}
		j.dir.done(ctx, b)
	}
}

// readFile chunks a file's content, queueing the chunks this run must store; it returns the
// content list and the bytes it covers.
func (b *backuper) readFile(ctx context.Context, path string, size int64, ch *chunkers.Chunker) ([]filerepo.ContentRef, int64, error) {
	f, err := openNoAtime(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if size <= int64(b.cfg.MinSize) {
		return b.readSmall(ctx, f, size)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, 0, err
	}
	extents := []extent{{off: 0, len: size}}
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Blocks*512 < size { // a device's blocks count 0
		if extents, err = dataExtents(int(f.Fd()), size); err != nil {
			return nil, 0, err
		}
	}
	var content []filerepo.ContentRef
	var covered int64
	for _, e := range extents {
		if e.hole {
			content = append(content, filerepo.ContentRef{Hole: e.len})
			covered += e.len
			continue
		}
		ch.Reset(io.NewSectionReader(f, e.off, e.len))
		for {
			data, err := ch.Next()
			if err != nil && !errors.Is(err, io.EOF) {
				return content, covered, err
			}
			if len(data) > 0 {
				covered += int64(len(data))
				b.nRead.Add(int64(len(data)))
				id, err := b.offer(ctx, data, false)
				if err != nil {
					return content, covered, err
				}
				content = append(content, filerepo.ContentRef{ID: id})
			}
			if errors.Is(err, io.EOF) {
				break
			}
		}
	}
	return content, covered, nil
}

// readSmall reads a file no larger than the minimum chunk: one chunk.
func (b *backuper) readSmall(ctx context.Context, f *os.File, size int64) ([]filerepo.ContentRef, int64, error) {
	if size == 0 {
		return nil, 0, nil
	}
	data := b.bufs.get(int(size))
	n, err := io.ReadFull(f, data)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		b.bufs.put(data)
		return nil, 0, err
	}
	b.nRead.Add(int64(n))
	if n == 0 {
		b.bufs.put(data)
		return nil, 0, nil
	}
	id, err := b.offer(ctx, data[:n], true)
	if err != nil {
		return nil, int64(n), err
	}
	return []filerepo.ContentRef{{ID: id}}, int64(n), nil
}

// offer hashes a chunk and queues it when this run must store it. A pooled chunk (owned)
// goes back to the pool once sealed, or at once when it is not stored; any other is copied
// into a pooled buffer of its size before it is queued.
func (b *backuper) offer(ctx context.Context, data []byte, owned bool) (filerepo.ID, error) {
	id := b.s.keys.ID(data)
	if !b.w.claim(id) {
		if owned {
			b.bufs.put(data)
		}
		return id, nil
	}
	if !owned {
		data = append(b.bufs.get(len(data))[:0], data...)
	}
	err := b.w.store(ctx, blobJob{typ: filerepo.DataBlob, id: id, data: data, release: func() { b.bufs.put(data) }})
	return id, err
}

// newChunker makes a reader's chunker (§12.1) with a scan buffer of the largest chunk.
func newChunker(cfg filerepo.ChunkerConfig) (*chunkers.Chunker, error) {
	opts := &chunkers.ChunkerOpts{MinSize: cfg.MinSize, NormalSize: cfg.NormalSize, MaxSize: cfg.MaxSize, Key: cfg.Key}
	ch, err := chunkers.NewChunkerBuffer(cfg.Algorithm, bytes.NewReader(nil), opts, make([]byte, 2*cfg.MaxSize))
	if err != nil {
		return nil, fmt.Errorf("chunker %s: %w", cfg.Algorithm, err)
	}
	return ch, nil
}

// openNoAtime opens a file for reading without updating its access time where the caller may.
func openNoAtime(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// extent is a run of a file: data, or a hole.
type extent struct {
	off, len int64
	hole     bool
}

// dataExtents finds a sparse file's data and holes (§13.2).
func dataExtents(fd int, size int64) ([]extent, error) {
	var out []extent
	var off int64
	for off < size {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) { // no data after off: the rest is a hole
			data = size
		} else if err != nil {
			return nil, fmt.Errorf("find data: %w", err)
		}
		if data > size {
			data = size
		}
		if data > off {
			out = append(out, extent{off: off, len: data - off, hole: true})
		}
		if data >= size {
			break
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return nil, fmt.Errorf("find holes: %w", err)
		}
		if hole > size {
			hole = size
		}
		out = append(out, extent{off: data, len: hole - data})
		off = hole
	}
	return out, nil
}
