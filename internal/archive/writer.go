package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

// Size targets of the writer (docs/design/format.md §1). Each sink holds a section and a pack
// being filled, and a backup lists several resource types at once through a sink each: the
// targets are what a backup's memory is made of.
const (
	sectionTargetBytes = 2 << 20
	packTargetBytes    = 4 << 20
)

// ErrBackupExists means a backup of that name already exists, complete or not.
var ErrBackupExists = errors.New("a backup of that name already exists")

// BackupWriter writes one backup. Items go in through Sinks (one per goroutine); Commit writes the
// index and then the manifest, which makes the backup exist.
type BackupWriter struct {
	repo        *Repository
	name        string
	id          string
	packSeq     atomic.Int64
	retainUntil time.Time

	mu     sync.Mutex
	groups map[GroupKey]*IndexGroup
	order  []GroupKey
	files  []FileEntry
	stored int64
	raw    int64
	items  int
}

// NewBackup starts a backup called name. It fails with ErrBackupExists if any file of a backup of
// that name exists (an interrupted one included: delete it first).
func (r *Repository) NewBackup(ctx context.Context, name string) (*BackupWriter, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	exists := false
	err := r.storage.List(ctx, backupPrefix(name), func(blob.Info) error {
		exists = true
		return errStopList
	})
	if err != nil && !errors.Is(err, errStopList) {
		return nil, fmt.Errorf("check backup %q: %w", name, err)
	}
	if exists {
		return nil, fmt.Errorf("%w: %q (choose another name, or `cairn backup delete %s` first)", ErrBackupExists, name, name)
	}
	return &BackupWriter{repo: r, name: name, id: hex.EncodeToString(randomBytes(16)), groups: map[GroupKey]*IndexGroup{}}, nil
}

var errStopList = errors.New("stop listing")

// LockUntil makes every file of the backup immutable in storage until t, where the storage can
// lock (S3 object lock, Azure immutability policies; filesystem and memory enforce it within
// cairn): not even these credentials can delete the backup before then. Call it before any Sink
// writes.
func (w *BackupWriter) LockUntil(t time.Time) { w.retainUntil = t }

// Name returns the backup's name.
func (w *BackupWriter) Name() string { return w.name }

// Sink writes the items of one goroutine: consecutive items of a group are cut into sections, and
// sections are streamed into packs. A sink holds one section's plaintext and one pack at a time,
// in buffers it reuses, so a backup's memory does not grow with the size of what it lists.
type Sink struct {
	w       *BackupWriter
	key     GroupKey
	nsd     bool
	section []byte // the pending section's NDJSON
	items   int    // the items in it
	zbuf    []byte // the last section compressed
	pack    *pack
}

// NewSink returns a sink. Sinks are not safe for concurrent use; make one per goroutine.
func (w *BackupWriter) NewSink() *Sink { return &Sink{w: w} }

// Add appends one item (compact JSON, no newline) of group key; item is copied.
func (s *Sink) Add(ctx context.Context, key GroupKey, namespaced bool, item []byte) error {
	if bytes.IndexByte(item, '\n') >= 0 {
		return fmt.Errorf("item of %s contains a newline; items must be compact JSON", key.GroupResource())
	}
	if s.items > 0 && (key != s.key || len(s.section)+len(item)+1 > sectionTargetBytes) {
		if err := s.flushSection(ctx); err != nil {
			return err
		}
	}
	if s.section == nil {
		s.section = make([]byte, 0, max(sectionTargetBytes, len(item)+1))
	}
	s.key, s.nsd = key, namespaced
	s.section = append(append(s.section, item...), '\n')
	s.items++
	return nil
}

// Close flushes what is pending and finishes the sink's current pack.
func (s *Sink) Close(ctx context.Context) error {
	if err := s.flushSection(ctx); err != nil {
		return err
	}
	s.section, s.zbuf = nil, nil
	return s.storePack(ctx)
}

// storePack stores the pack being filled, if any; the next section starts a new one.
func (s *Sink) storePack(ctx context.Context) error {
	if s.pack == nil {
		return nil
	}
	p := s.pack
	s.pack = nil
	return s.w.finishPack(ctx, p)
}

// flushSection compresses the pending section and seals it onto the end of the current pack. A
// pack that the section would take past its target is stored first, so that a pack's buffer,
// allocated once at the target, does not grow.
func (s *Sink) flushSection(ctx context.Context) error {
	if s.items == 0 {
		return nil
	}
	repo := s.w.repo
	s.zbuf = repo.codec.compressTo(s.zbuf[:0], s.section)
	if s.pack != nil && len(s.pack.buf) > 0 && len(s.pack.buf)+len(s.zbuf)+sealOverhead > packTargetBytes {
		if err := s.storePack(ctx); err != nil {
			return err
		}
	}
	if s.pack == nil {
		s.pack = s.w.newPack()
	}
	offset := len(s.pack.buf)
	buf, err := repo.keys.sealAppend(s.pack.buf, sectionContext(s.w.id, s.pack.name, int64(offset)), s.zbuf)
	if err != nil {
		return err
	}
	s.pack.buf = buf
	sealed := buf[offset:]
	sum := sha256.Sum256(sealed)
	s.w.addSection(s.key, s.nsd, Section{Pack: s.pack.name, Offset: int64(offset), Length: int64(len(sealed)),
		Items: s.items, RawBytes: int64(len(s.section)), SHA256: hex.EncodeToString(sum[:])})
	s.section, s.items = s.section[:0], 0
	if len(s.pack.buf) >= packTargetBytes {
		return s.storePack(ctx)
	}
	return nil
}

func (w *BackupWriter) addSection(key GroupKey, namespaced bool, sec Section) {
	w.mu.Lock()
	defer w.mu.Unlock()
	g, ok := w.groups[key]
	if !ok {
		g = &IndexGroup{GroupKey: key, Namespaced: namespaced}
		w.groups[key] = g
		w.order = append(w.order, key)
	}
	g.Sections = append(g.Sections, sec)
	g.Items += sec.Items
	g.RawBytes += sec.RawBytes
	w.items += sec.Items
	w.raw += sec.RawBytes
}

// pack collects one pack in memory and stores it whole when it is full: at most one pack per
// sink is in memory, and a pack held as bytes can be sent again by the retry decorator when a
// connection drops halfway through an upload. Its buffer is not reused after the upload: a
// storage client may still hold the bytes of a request it gave up on.
type pack struct {
	name string
	buf  []byte
}

func (w *BackupWriter) newPack() *pack {
	return &pack{name: fmt.Sprintf("%06d.pack", w.packSeq.Add(1)), buf: make([]byte, 0, packTargetBytes)}
}

func (w *BackupWriter) finishPack(ctx context.Context, p *pack) error {
	data := p.buf
	if err := w.repo.storage.Put(ctx, backupPrefix(w.name)+"packs/"+p.name, bytes.NewReader(data), blob.PutOptions{IfNotExists: true, RetainUntil: w.retainUntil}); err != nil {
		return fmt.Errorf("store pack %s: %w", p.name, err)
	}
	sum := sha256.Sum256(data)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.files = append(w.files, FileEntry{Name: "packs/" + p.name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	w.stored += int64(len(data))
	return nil
}

// Stats reports what has been written so far.
func (w *BackupWriter) Stats() (items int, rawBytes int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.items, w.raw
}

// Commit writes the index and then the manifest; after it returns nil the backup exists. All sinks
// must be closed. rp's ID, Name, Files, Encryption and byte counts are filled in here.
func (w *BackupWriter) Commit(ctx context.Context, rp RecoveryPoint) (RecoveryPoint, error) {
	w.mu.Lock()
	ix := &Index{Version: FormatVersion}
	for _, k := range w.order {
		ix.Groups = append(ix.Groups, *w.groups[k])
	}
	files := append([]FileEntry(nil), w.files...)
	stored, raw, items := w.stored, w.raw, w.items
	w.mu.Unlock()

	plain, err := w.repo.codec.encodeIndex(ix)
	if err != nil {
		return rp, err
	}
	sealed, err := w.repo.keys.seal(indexContext(w.id), plain)
	if err != nil {
		return rp, err
	}
	if err := w.repo.storage.Put(ctx, indexKey(w.name), bytes.NewReader(sealed), blob.PutOptions{IfNotExists: true, RetainUntil: w.retainUntil}); err != nil {
		return rp, fmt.Errorf("write index: %w", err)
	}
	sum := sha256.Sum256(sealed)
	files = append(files, FileEntry{Name: "index", Size: int64(len(sealed)), SHA256: hex.EncodeToString(sum[:])})
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })

	rp.FormatVersion = FormatVersion
	rp.ID, rp.Name = w.id, w.name
	rp.Encryption = w.repo.config.Encryption
	rp.Files = files
	rp.Result.Items, rp.Result.RawBytes = items, raw
	rp.Result.StoredBytes = stored + int64(len(sealed))
	if rp.CompletedAt.IsZero() {
		rp.CompletedAt = time.Now().UTC()
	}
	if err := w.repo.putEnvelope(ctx, manifestKey(w.name), formatManifest, manifestContext(w.name), rp, w.retainUntil); err != nil {
		return rp, err
	}
	return rp, nil
}
