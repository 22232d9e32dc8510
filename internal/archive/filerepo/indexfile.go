package filerepo

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/internal/blob"
)

// IndexPrefix is where index files live.
const IndexPrefix = "files/index/"

const indexVersion = 1

// maxIndexFile bounds an index file a reader loads (sealed bytes): about 20 million blobs.
const maxIndexFile = 1 << 30

// IndexKey is the storage key of an index file.
func IndexKey(n Name) string { return IndexPrefix + n.String() }

// ParseIndexKey returns the name of the index file at key.
func ParseIndexKey(key string) (Name, error) {
	rest, ok := strings.CutPrefix(key, IndexPrefix)
	n, err := ParseName(rest)
	if !ok || err != nil {
		return Name{}, fmt.Errorf("%s is not an index file", key)
	}
	return n, nil
}

// IndexFile is the content of one index file (§12.4).
type IndexFile struct {
	Supersedes []Name
	Packs      []PackEntries
}

// PackEntries are the blobs of one pack.
type PackEntries struct {
	Pack    Name
	Entries []Entry
}

func indexContext(n Name) []byte { return []byte("cairn/v1/file-index\x00" + n.String()) }

var indexMagic = []byte("CFIX")

// EncodeIndexFile seals an index file named n.
func EncodeIndexFile(keys *Keys, n Name, f IndexFile) ([]byte, error) {
	b := append([]byte(nil), indexMagic...)
	b = append(b, indexVersion)
	b = binary.AppendUvarint(b, uint64(len(f.Supersedes)))
	for _, s := range f.Supersedes {
		b = append(b, s[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(f.Packs)))
	for _, p := range f.Packs {
		b = append(b, p.Pack[:]...)
		b = binary.AppendUvarint(b, uint64(len(p.Entries)))
		for _, e := range p.Entries {
			b = append(b, byte(e.Type))
			b = append(b, e.ID[:]...)
			b = binary.AppendUvarint(b, uint64(e.Offset))
			b = binary.AppendUvarint(b, uint64(e.Length))
			b = binary.AppendUvarint(b, uint64(e.RawLength))
		}
	}
	return sealCompressed(keys, indexContext(n), b), nil
}

// DecodeIndexFile opens and parses the index file named n.
func DecodeIndexFile(keys *Keys, n Name, sealed []byte) (IndexFile, error) {
	plain, err := openCompressed(keys, "index file "+n.String(), indexContext(n), sealed, maxIndexFile)
	if err != nil {
		return IndexFile{}, err
	}
	f, err := parseIndexFile(plain)
	if err != nil {
		return f, fmt.Errorf("index file %s: %w", n, err)
	}
	return f, nil
}

func parseIndexFile(p []byte) (IndexFile, error) {
	var f IndexFile
	if len(p) < len(indexMagic)+1 || string(p[:len(indexMagic)]) != string(indexMagic) {
		return f, fmt.Errorf("not an index file: %w", ErrTampered)
	}
	if v := p[len(indexMagic)]; v != indexVersion {
		if v > indexVersion {
			return f, fmt.Errorf("version %d: written by a newer cairn; upgrade cairn to read it", v)
		}
		return f, fmt.Errorf("version %d: %w", v, ErrTampered)
	}
	d := decoder{b: p[len(indexMagic)+1:]}
	f.Supersedes = make([]Name, d.count(16))
	for i := range f.Supersedes {
		d.name(&f.Supersedes[i])
	}
	f.Packs = make([]PackEntries, d.count(17))
	for i := range f.Packs {
		p := &f.Packs[i]
		d.name(&p.Pack)
		p.Entries = make([]Entry, d.count(1+32+3))
		for j := range p.Entries {
			e := &p.Entries[j]
			e.Type = BlobType(d.byte())
			d.id(&e.ID)
			e.Offset = d.u32()
			e.Length = d.u32()
			e.RawLength = d.u32()
			if d.err == nil && !e.Type.valid() {
				d.fail(fmt.Errorf("unknown blob type %d", e.Type))
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Errorf("%d trailing bytes", len(d.b)))
	}
	if d.err != nil {
		return IndexFile{}, fmt.Errorf("%w: %w", d.err, ErrTampered)
	}
	return f, nil
}

// PutIndexFile seals and stores a new index file, create-only, and returns its name.
func PutIndexFile(ctx context.Context, st blob.Storage, keys *Keys, f IndexFile) (Name, error) {
	n := NewName()
	data, err := EncodeIndexFile(keys, n, f)
	if err != nil {
		return n, err
	}
	return n, put(ctx, st, IndexKey(n), data, true)
}
