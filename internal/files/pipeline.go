package files

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// indexEvery is how many stored packs wait for an index file (§14).
const indexEvery = 64

// packsInMemory is how many packs a backup fills and uploads at once.
const packsInMemory = 3

// blobJob is a plaintext on its way to a pack; release returns its buffer.
type blobJob struct {
	typ     filerepo.BlobType
	id      filerepo.ID
	data    []byte
	release func()
}

// finishedPack is a pack ready to upload.
type finishedPack struct {
	name    filerepo.Name
	entries []filerepo.Entry
	data    []byte
	w       *filerepo.PackWriter
}

// writer stores blobs: it seals them in parallel, fills packs, uploads them and writes index
// files for the packs stored (§14). Its counters feed the snapshot's summary.
type writer struct {
	s        *Store
	x        *filerepo.Index
	packSize int
	usable   func(filerepo.Location) bool

	seen sync.Map // IDs this run has queued and not yet indexed

	blobs   chan blobJob
	packs   chan finishedPack
	sealers sync.WaitGroup
	uploads sync.WaitGroup

	// free holds the buffers of packs: at most packsInMemory exist, so a backup's packs take
	// a bounded amount of memory whatever the speed of the storage (§18).
	free      chan []byte
	allocated int

	mu      sync.Mutex
	cur     *filerepo.PackWriter
	pending []filerepo.PackEntries
	err     error
	cancel  context.CancelCauseFunc

	newBlobs, newRaw, added atomic.Int64
}

func newWriter(ctx context.Context, s *Store, x *filerepo.Index, packSize, sealers int, usable func(filerepo.Location) bool) (*writer, context.Context) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &writer{s: s, x: x, packSize: packSize, usable: usable, cancel: cancel,
		blobs: make(chan blobJob, 2*sealers), packs: make(chan finishedPack), free: make(chan []byte, packsInMemory)}
	for range sealers {
		w.sealers.Add(1)
		go w.seal(ctx)
	}
	for range 2 {
		w.uploads.Add(1)
		go w.upload(ctx)
	}
	return w, ctx
}

// fail stops the pipeline with err (the first one wins).
func (w *writer) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.cancel(err)
}

// claim reports whether id must be stored by this run: it is in no usable listing of the index
// and no other goroutine of this run has claimed it.
func (w *writer) claim(id filerepo.ID) bool {
	if w.x.Has(id, w.usable) {
		return false
	}
	_, queued := w.seen.LoadOrStore(id, struct{}{})
	return !queued
}

// known reports whether id is stored or queued (for a parent's unchanged file).
func (w *writer) known(id filerepo.ID) bool {
	if w.x.Has(id, w.usable) {
		return true
	}
	_, queued := w.seen.Load(id)
	return queued
}

// store queues a plaintext the caller claimed; release (if not nil) is called when it is sealed.
func (w *writer) store(ctx context.Context, j blobJob) error {
	select {
	case w.blobs <- j:
		return nil
	case <-ctx.Done():
		if j.release != nil {
			j.release()
		}
		return context.Cause(ctx)
	}
}

func (w *writer) seal(ctx context.Context) {
	defer w.sealers.Done()
	var out, scratch []byte
	for j := range w.blobs {
		if ctx.Err() != nil {
			if j.release != nil {
				j.release()
			}
			continue
		}
		out, scratch = w.s.codec.Seal(out[:0], j.typ, j.id, j.data, scratch)
		if j.release != nil {
			j.release()
		}
		w.newBlobs.Add(1)
		w.newRaw.Add(int64(len(j.data)))
		w.added.Add(int64(len(out)))
		w.addToPack(ctx, j.typ, j.id, len(j.data), out)
	}
}

func (w *writer) addToPack(ctx context.Context, t filerepo.BlobType, id filerepo.ID, raw int, sealed []byte) {
	w.mu.Lock()
	var full *filerepo.PackWriter
	if w.cur != nil && w.cur.Len() > 0 && len(w.cur.Buffer())+len(sealed) > cap(w.cur.Buffer()) {
		full, w.cur = w.cur, nil // a pack's buffer never grows: it is closed a little early instead
	}
	if w.cur == nil {
		buf, ok := w.packBuffer(ctx)
		if !ok {
			w.mu.Unlock()
			return
		}
		w.cur = filerepo.NewPackWriter(buf)
	}
	w.cur.Added(t, id, raw, append(w.cur.Buffer(), sealed...))
	var done *filerepo.PackWriter
	if w.cur.Size() >= w.packSize {
		done, w.cur = w.cur, nil
	}
	w.mu.Unlock()
	for _, p := range []*filerepo.PackWriter{full, done} {
		if p != nil {
			w.send(ctx, p)
		}
	}
}

// packBuffer returns the buffer for a new pack, waiting for an upload to free one when
// packsInMemory exist; false when the backup stops meanwhile.
func (w *writer) packBuffer(ctx context.Context) ([]byte, bool) {
	select {
	case buf := <-w.free:
		return buf, true
	default:
	}
	if w.allocated < packsInMemory {
		w.allocated++
		return make([]byte, 0, w.packSize+w.packSize/16), true
	}
	select {
	case buf := <-w.free:
		return buf, true
	case <-ctx.Done():
		return nil, false
	}
}

func (w *writer) send(ctx context.Context, pw *filerepo.PackWriter) {
	fp := finishedPack{name: pw.Name, entries: pw.Entries(), data: pw.Finish(w.s.keys), w: pw}
	select {
	case w.packs <- fp:
	case <-ctx.Done():
	}
}

func (w *writer) upload(ctx context.Context) {
	defer w.uploads.Done()
	for p := range w.packs {
		if ctx.Err() != nil {
			continue
		}
		if err := filerepo.PutPack(ctx, w.s.st, p.name, p.data); err != nil {
			w.fail(err)
			continue
		}
		w.x.AddPack(p.name, p.entries)
		for _, e := range p.entries {
			w.seen.Delete(e.ID) // the index knows it now: seen holds only what is in flight
		}
		w.free <- p.data[:0] // before taking mu, which a sealer waiting for a buffer holds
		w.mu.Lock()
		w.pending = append(w.pending, filerepo.PackEntries{Pack: p.name, Entries: p.entries})
		var flush []filerepo.PackEntries
		if len(w.pending) >= indexEvery {
			flush, w.pending = w.pending, nil
		}
		w.mu.Unlock()
		if flush != nil {
			if err := w.writeIndex(ctx, flush); err != nil {
				w.fail(err)
			}
		}
	}
}

func (w *writer) writeIndex(ctx context.Context, packs []filerepo.PackEntries) error {
	if len(packs) == 0 {
		return nil
	}
	_, err := filerepo.PutIndexFile(ctx, w.s.st, w.s.keys, filerepo.IndexFile{Packs: packs})
	return err
}

// close waits for every queued blob to be sealed, packed, uploaded and indexed. After it
// returns nil, every blob claimed is listed by a stored index file.
func (w *writer) close(ctx context.Context) error {
	close(w.blobs)
	w.sealers.Wait()
	w.mu.Lock()
	last := w.cur
	w.cur = nil
	w.mu.Unlock()
	if last != nil && last.Len() > 0 {
		w.send(ctx, last)
	}
	close(w.packs)
	w.uploads.Wait()
	if w.err != nil {
		return w.err
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	if err := w.writeIndex(ctx, w.pending); err != nil {
		return fmt.Errorf("write the index: %w", err)
	}
	w.pending = nil
	return nil
}
