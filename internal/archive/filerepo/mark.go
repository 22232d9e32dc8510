package filerepo

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/cairnbackup/cairn/internal/blob"
)

// GCPrefix is where marks of garbage collections live.
const GCPrefix = "files/gc/"

const (
	markVersion   = 1
	maxMark       = 1 << 30
	markLocksTail = ".locks"
)

var markMagic = []byte("CFGC")

// Mark is what a collection found unused (§16): listings of blobs, and packs no index lists.
type Mark struct {
	CreatedAt time.Time
	Packs     []PackEntries // Offset and lengths unused: a listing is (pack, type, ID)
	Unindexed []Name
}

// MarkKey and MarkLocksKey are the storage keys of a mark and of its lock list.
func MarkKey(n Name) string      { return GCPrefix + n.String() }
func MarkLocksKey(n Name) string { return GCPrefix + n.String() + markLocksTail }

func markContext(n Name) []byte      { return []byte("cairn/v1/gc-mark\x00" + n.String()) }
func markLocksContext(n Name) []byte { return []byte("cairn/v1/gc-mark-locks\x00" + n.String()) }

// SaveMark writes a mark, create-only.
func SaveMark(ctx context.Context, st blob.Storage, keys *Keys, n Name, m Mark) error {
	b := append([]byte(nil), markMagic...)
	b = append(b, markVersion)
	b = binary.AppendVarint(b, m.CreatedAt.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(m.Packs)))
	for _, p := range m.Packs {
		b = append(b, p.Pack[:]...)
		b = binary.AppendUvarint(b, uint64(len(p.Entries)))
		for _, e := range p.Entries {
			b = append(b, byte(e.Type))
			b = append(b, e.ID[:]...)
		}
	}
	b = appendNames(b, m.Unindexed)
	return put(ctx, st, MarkKey(n), sealCompressed(keys, markContext(n), b), true)
}

// LoadMark reads a mark.
func LoadMark(ctx context.Context, st blob.Storage, keys *Keys, n Name) (Mark, error) {
	plain, err := readCompressed(ctx, st, keys, MarkKey(n), markContext(n))
	if err != nil {
		return Mark{}, err
	}
	m, err := parseMark(plain)
	if err != nil {
		return m, fmt.Errorf("%s: %w", MarkKey(n), err)
	}
	return m, nil
}

func parseMark(plain []byte) (Mark, error) {
	var m Mark
	if len(plain) < len(markMagic)+1 || string(plain[:len(markMagic)]) != string(markMagic) || plain[len(markMagic)] != markVersion {
		return m, fmt.Errorf("not a mark of this version: %w", ErrTampered)
	}
	d := decoder{b: plain[len(markMagic)+1:]}
	ts, k := binary.Varint(d.b)
	if k <= 0 {
		return m, ErrTampered
	}
	d.b = d.b[k:]
	m.CreatedAt = time.Unix(0, ts).UTC()
	m.Packs = make([]PackEntries, d.count(17))
	for i := range m.Packs {
		p := &m.Packs[i]
		d.name(&p.Pack)
		p.Entries = make([]Entry, d.count(33))
		for j := range p.Entries {
			p.Entries[j].Type = BlobType(d.byte())
			d.id(&p.Entries[j].ID)
		}
	}
	m.Unindexed = readNames(&d)
	if d.err == nil && len(d.b) != 0 {
		d.fail(errors.New("trailing bytes"))
	}
	if d.err != nil {
		return Mark{}, fmt.Errorf("%w: %w", d.err, ErrTampered)
	}
	return m, nil
}

// SaveMarkLocks writes the locks present after a mark was written (§16).
func SaveMarkLocks(ctx context.Context, st blob.Storage, keys *Keys, n Name, locks []Name) error {
	return put(ctx, st, MarkLocksKey(n), sealCompressed(keys, markLocksContext(n), appendNames(nil, locks)), true)
}

// LoadMarkLocks reads the lock list of a mark.
func LoadMarkLocks(ctx context.Context, st blob.Storage, keys *Keys, n Name) ([]Name, error) {
	plain, err := readCompressed(ctx, st, keys, MarkLocksKey(n), markLocksContext(n))
	if err != nil {
		return nil, err
	}
	d := decoder{b: plain}
	names := readNames(&d)
	if d.err == nil && len(d.b) != 0 {
		d.fail(errors.New("trailing bytes"))
	}
	if d.err != nil {
		return nil, fmt.Errorf("%s: %w: %w", MarkLocksKey(n), d.err, ErrTampered)
	}
	return names, nil
}

// MarkInfo is a mark found in storage.
type MarkInfo struct {
	Name     Name
	ModTime  time.Time
	Finished bool // its lock list was written
}

// ListMarks lists the marks, oldest name order.
func ListMarks(ctx context.Context, st blob.Storage) ([]MarkInfo, error) {
	byName := map[Name]*MarkInfo{}
	var order []Name
	err := st.List(ctx, GCPrefix, func(info blob.Info) error {
		rest := strings.TrimPrefix(info.Key, GCPrefix)
		base, isLocks := strings.CutSuffix(rest, markLocksTail)
		n, err := ParseName(base)
		if err != nil {
			return nil
		}
		mi, ok := byName[n]
		if !ok {
			mi = &MarkInfo{Name: n}
			byName[n] = mi
			order = append(order, n)
		}
		if isLocks {
			mi.Finished = true
		} else {
			mi.ModTime = info.ModTime
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list marks: %w", err)
	}
	out := make([]MarkInfo, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out, nil
}

// DeleteMark removes a mark and its lock list.
func DeleteMark(ctx context.Context, st blob.Storage, n Name) error {
	for _, key := range []string{MarkLocksKey(n), MarkKey(n)} {
		if err := st.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return fmt.Errorf("delete %s: %w", key, err)
		}
	}
	return nil
}

func appendNames(b []byte, names []Name) []byte {
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = append(b, n[:]...)
	}
	return b
}

func readNames(d *decoder) []Name {
	names := make([]Name, d.count(16))
	for i := range names {
		d.name(&names[i])
	}
	return names
}

func sealCompressed(keys *Keys, context, plain []byte) []byte {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1)) // options are valid
	return keys.Seal(nil, context, enc.EncodeAll(plain, nil))
}

func readCompressed(ctx context.Context, st blob.Storage, keys *Keys, key string, context []byte) ([]byte, error) {
	data, err := blob.ReadAll(ctx, st, key, maxMark)
	if err != nil {
		return nil, err
	}
	return openCompressed(keys, key, context, data, maxMark)
}

// openCompressed opens a sealed zstd frame; what names it in errors.
func openCompressed(keys *Keys, what string, context, sealed []byte, limit uint64) ([]byte, error) {
	compressed, err := keys.Open(nil, context, sealed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(limit)) // options are valid
	defer dec.Close()
	plain, err := dec.DecodeAll(compressed, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: decompress: %w: %w", what, err, ErrTampered)
	}
	return plain, nil
}
