package filerepo

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Bounds on what a reader accepts (§12.2).
const (
	MaxDataBlob = 8 << 20
	MaxTreeBlob = 256 << 20
)

const (
	flagRaw  = 0x00
	flagZstd = 0x01
)

// Codec turns plaintexts into sealed blobs and back (§12.2). Safe for concurrent use.
type Codec struct {
	keys  *Keys
	enc   *zstd.Encoder
	dec   *zstd.Decoder
	inner sync.Pool // opened blobs before decompression
}

// NewCodec makes a codec over keys.
func NewCodec(keys *Keys) (*Codec, error) {
	n := runtime.GOMAXPROCS(0)
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(n),
		zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(2<<20))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(n), zstd.WithDecoderMaxMemory(MaxTreeBlob),
		zstd.WithDecoderMaxWindow(MaxTreeBlob))
	if err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &Codec{keys: keys, enc: enc, dec: dec}, nil
}

// blobContext is the sealing context of a blob: its type and ID.
func blobContext(t BlobType, id ID) []byte {
	const prefix = "cairn/v1/file-blob\x00"
	b := make([]byte, 0, len(prefix)+1+len(id))
	b = append(b, prefix...)
	b = append(b, byte(t))
	return append(b, id[:]...)
}

// Seal appends the sealed blob of plaintext to dst; scratch is reusable working memory, returned
// grown. A plaintext that compresses by less than 1/32 is stored as it is.
func (c *Codec) Seal(dst []byte, t BlobType, id ID, plaintext, scratch []byte) (sealed, newScratch []byte) {
	scratch = append(scratch[:0], flagZstd)
	scratch = c.enc.EncodeAll(plaintext, scratch)
	if len(scratch)-1 > len(plaintext)-len(plaintext)/32 {
		scratch = append(append(scratch[:0], flagRaw), plaintext...)
	}
	return c.keys.Seal(dst, blobContext(t, id), scratch), scratch
}

// Open returns the plaintext of a sealed blob, appended to dst, after checking its
// authentication, its length and that it hashes to id.
func (c *Codec) Open(dst []byte, t BlobType, id ID, rawLength int, sealed []byte) ([]byte, error) {
	limit := MaxDataBlob
	if t == TreeBlob {
		limit = MaxTreeBlob
	}
	if rawLength < 0 || rawLength > limit {
		return nil, fmt.Errorf("%s blob %s: raw length %d out of bounds: %w", t, id, rawLength, ErrTampered)
	}
	bufp, _ := c.inner.Get().(*[]byte)
	if bufp == nil {
		bufp = new([]byte)
	}
	defer c.inner.Put(bufp)
	inner, err := c.keys.Open((*bufp)[:0], blobContext(t, id), sealed)
	if err != nil {
		return nil, fmt.Errorf("%s blob %s: %w", t, id, err)
	}
	*bufp = inner
	return c.decode(dst, t, id, rawLength, inner)
}

// decode turns an opened blob (flag ‖ body) into its plaintext, checking its length and hash.
func (c *Codec) decode(dst []byte, t BlobType, id ID, rawLength int, inner []byte) ([]byte, error) {
	var err error
	if len(inner) == 0 {
		return nil, fmt.Errorf("%s blob %s: empty: %w", t, id, ErrTampered)
	}
	start := len(dst)
	switch inner[0] {
	case flagRaw:
		dst = append(dst, inner[1:]...)
	case flagZstd:
		var h zstd.Header
		if err := h.Decode(inner[1:]); err != nil || !h.HasFCS || h.FrameContentSize != uint64(rawLength) {
			return nil, fmt.Errorf("%s blob %s: the zstd frame does not declare the index's %d bytes: %w", t, id, rawLength, ErrTampered)
		}
		if dst, err = c.dec.DecodeAll(inner[1:], dst); err != nil {
			return nil, fmt.Errorf("%s blob %s: decompress: %w", t, id, err)
		}
	default:
		return nil, fmt.Errorf("%s blob %s: unknown encoding %#x: %w", t, id, inner[0], ErrTampered)
	}
	plain := dst[start:]
	if len(plain) != rawLength {
		return nil, fmt.Errorf("%s blob %s: %d bytes, the index says %d: %w", t, id, len(plain), rawLength, ErrTampered)
	}
	if c.keys.ID(plain) != id {
		return nil, fmt.Errorf("%s blob %s: content does not match its ID: %w", t, id, ErrTampered)
	}
	return dst, nil
}
