package filerepo

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/cairnbackup/cairn/internal/blob"
)

// PacksPrefix is where packs live.
const PacksPrefix = "files/packs/"

const packHeaderVersion = 1

// maxPackHeader bounds a pack header a reader accepts: far more than 16 MiB of 512 KiB chunks
// need, and than a pack of small files.
const maxPackHeader = 16 << 20

// PackKey is the storage key of a pack.
func PackKey(n Name) string {
	s := n.String()
	return PacksPrefix + s[:2] + "/" + s + ".pack"
}

// ParsePackKey returns the name of the pack at key.
func ParsePackKey(key string) (Name, error) {
	rest, ok := strings.CutPrefix(key, PacksPrefix)
	if !ok || len(rest) != 3+32+5 || rest[2] != '/' || !strings.HasSuffix(rest, ".pack") {
		return Name{}, fmt.Errorf("%s is not a pack", key)
	}
	n, err := ParseName(rest[3 : 3+32])
	if err != nil || n.String()[:2] != rest[:2] {
		return Name{}, fmt.Errorf("%s is not a pack", key)
	}
	return n, nil
}

// Entry is one blob in a pack.
type Entry struct {
	Type      BlobType
	ID        ID
	Offset    uint32
	Length    uint32 // sealed bytes
	RawLength uint32 // plaintext bytes
}

// PackWriter assembles a pack in memory.
type PackWriter struct {
	Name    Name
	buf     []byte
	entries []Entry
}

// NewPackWriter starts a pack, reusing buf's memory.
func NewPackWriter(buf []byte) *PackWriter {
	return &PackWriter{Name: NewName(), buf: buf[:0]}
}

// Buffer is where the caller seals the next blob: append to it and call Added.
func (w *PackWriter) Buffer() []byte { return w.buf }

// Added records the blob the caller appended to Buffer, which is now buf.
func (w *PackWriter) Added(t BlobType, id ID, rawLength int, buf []byte) {
	off := len(w.buf)
	w.entries = append(w.entries, Entry{Type: t, ID: id, Offset: uint32(off), Length: uint32(len(buf) - off), RawLength: uint32(rawLength)})
	w.buf = buf
}

// AddSealed appends a blob sealed elsewhere (repacking copies sealed bytes as they are).
func (w *PackWriter) AddSealed(e Entry, sealed []byte) {
	w.Added(e.Type, e.ID, int(e.RawLength), append(w.buf, sealed...))
}

// Size is the bytes of blobs so far.
func (w *PackWriter) Size() int { return len(w.buf) }

// Len is the number of blobs so far.
func (w *PackWriter) Len() int { return len(w.entries) }

// Entries are the blobs so far.
func (w *PackWriter) Entries() []Entry { return w.entries }

// Finish appends the sealed header and its length, and returns the whole pack.
func (w *PackWriter) Finish(keys *Keys) []byte {
	plain := encodePackHeader(w.entries)
	start := len(w.buf)
	w.buf = keys.Seal(w.buf, packHeaderContext(w.Name), plain)
	return binary.LittleEndian.AppendUint32(w.buf, uint32(len(w.buf)-start))
}

func packHeaderContext(n Name) []byte {
	return []byte("cairn/v1/pack-header\x00" + n.String())
}

func encodePackHeader(entries []Entry) []byte {
	b := make([]byte, 0, 2+len(entries)*(1+32+8))
	b = append(b, packHeaderVersion)
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = append(b, byte(e.Type))
		b = append(b, e.ID[:]...)
		b = binary.AppendUvarint(b, uint64(e.Length))
		b = binary.AppendUvarint(b, uint64(e.RawLength))
	}
	return b
}

// DecodePackHeader opens and parses a pack's sealed header; offsets are computed from the lengths.
func DecodePackHeader(keys *Keys, n Name, sealed []byte) ([]Entry, error) {
	plain, err := keys.Open(nil, packHeaderContext(n), sealed)
	if err != nil {
		return nil, fmt.Errorf("pack %s header: %w", n, err)
	}
	return parsePackHeader(plain)
}

func parsePackHeader(p []byte) ([]Entry, error) {
	d := decoder{b: p}
	if v := d.byte(); v != packHeaderVersion {
		if d.err == nil && v > packHeaderVersion {
			return nil, fmt.Errorf("pack header version %d: written by a newer cairn; upgrade cairn to read it", v)
		}
		return nil, fmt.Errorf("pack header: version %d: %w", v, ErrTampered)
	}
	n := d.count(1 + 32 + 2)
	entries := make([]Entry, 0, n)
	var off uint64
	for range n {
		e := Entry{Type: BlobType(d.byte())}
		d.id(&e.ID)
		e.Offset = uint32(off)
		e.Length = d.u32()
		e.RawLength = d.u32()
		off += uint64(e.Length)
		if d.err == nil && (!e.Type.valid() || off > 1<<32-1) {
			d.err = fmt.Errorf("pack header: bad entry")
		}
		entries = append(entries, e)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("pack header: %d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %w", d.err, ErrTampered)
	}
	return entries, nil
}

// ReadPackHeader reads the header at the end of a stored pack of size bytes.
func ReadPackHeader(ctx context.Context, st blob.Storage, keys *Keys, n Name, size int64) ([]Entry, error) {
	key := PackKey(n)
	if size < 4 {
		return nil, fmt.Errorf("%s: %d bytes is too short for a pack: %w", key, size, ErrTampered)
	}
	tail, err := ReadRange(ctx, st, key, size-4, 4, nil)
	if err != nil {
		return nil, err
	}
	hl := int64(binary.LittleEndian.Uint32(tail))
	if hl > maxPackHeader || hl+4 > size {
		return nil, fmt.Errorf("%s: header length %d does not fit the pack: %w", key, hl, ErrTampered)
	}
	sealed, err := ReadRange(ctx, st, key, size-4-hl, hl, nil)
	if err != nil {
		return nil, err
	}
	entries, err := DecodePackHeader(keys, n, sealed)
	if err != nil {
		return nil, err
	}
	if end := HeaderStart(entries); end != size-4-hl {
		return nil, fmt.Errorf("%s: blobs end at %d but the header starts at %d: %w", key, end, size-4-hl, ErrTampered)
	}
	return entries, nil
}

// HeaderStart is where the header of a pack with these entries starts.
func HeaderStart(entries []Entry) int64 {
	if len(entries) == 0 {
		return 0
	}
	last := entries[len(entries)-1]
	return int64(last.Offset) + int64(last.Length)
}

// SplitPack parses a whole pack read into memory: its entries and, for each, its sealed bytes.
func SplitPack(keys *Keys, n Name, pack []byte) ([]Entry, error) {
	if len(pack) < 4 {
		return nil, fmt.Errorf("pack %s: %d bytes is too short: %w", n, len(pack), ErrTampered)
	}
	hl := int(binary.LittleEndian.Uint32(pack[len(pack)-4:]))
	if hl > maxPackHeader || hl+4 > len(pack) {
		return nil, fmt.Errorf("pack %s: header length %d does not fit the pack: %w", n, hl, ErrTampered)
	}
	entries, err := DecodePackHeader(keys, n, pack[len(pack)-4-hl:len(pack)-4])
	if err != nil {
		return nil, err
	}
	if end := HeaderStart(entries); end != int64(len(pack)-4-hl) {
		return nil, fmt.Errorf("pack %s: blobs end at %d but the header starts at %d: %w", n, end, len(pack)-4-hl, ErrTampered)
	}
	return entries, nil
}

// ReadRange reads n bytes of key from off into buf (grown as needed).
func ReadRange(ctx context.Context, st blob.Storage, key string, off, n int64, buf []byte) ([]byte, error) {
	rc, err := st.Get(ctx, key, off, n)
	if err != nil {
		return buf, fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(rc, buf); err != nil {
		return buf, fmt.Errorf("read %s: %w", key, err)
	}
	return buf, nil
}

// PutPack stores a whole pack, create-only.
func PutPack(ctx context.Context, st blob.Storage, n Name, data []byte) error {
	return put(ctx, st, PackKey(n), data, true)
}

// StoredPacks lists the packs in storage with their sizes; stray, when not nil, is told of every
// other key under PacksPrefix.
func StoredPacks(ctx context.Context, st blob.Storage, stray func(key string)) (map[Name]int64, error) {
	sizes := map[Name]int64{}
	err := st.List(ctx, PacksPrefix, func(info blob.Info) error {
		n, err := ParsePackKey(info.Key)
		switch {
		case err == nil:
			sizes[n] = info.Size
		case stray != nil:
			stray(info.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	return sizes, nil
}
