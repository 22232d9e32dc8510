package archive

import (
	"encoding/json"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Index lists the groups of a backup and where their sections lie.
type Index struct {
	Version int          `json:"version"`
	Groups  []IndexGroup `json:"groups"`
}

// GroupKey identifies a group: one resource type in one namespace ("" for cluster-scoped).
type GroupKey struct {
	Group     string `json:"group"`
	Version   string `json:"version"`
	Resource  string `json:"resource"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
}

// GroupResource is the resource's name as users write it: "deployments.apps", "configmaps".
func (k GroupKey) GroupResource() string {
	if k.Group == "" {
		return k.Resource
	}
	return k.Resource + "." + k.Group
}

// IndexGroup is one group's entry in the index.
type IndexGroup struct {
	GroupKey
	Namespaced bool      `json:"namespaced"`
	Items      int       `json:"items"`
	RawBytes   int64     `json:"rawBytes"`
	Sections   []Section `json:"sections"`
}

// Section locates one section in a pack.
type Section struct {
	Pack     string `json:"pack"`
	Offset   int64  `json:"offset"`
	Length   int64  `json:"length"`
	Items    int    `json:"items"`
	RawBytes int64  `json:"rawBytes"`
	SHA256   string `json:"sha256"`
}

// Limits that keep readers bounded on crafted input.
const (
	maxSectionRawBytes = 64 << 20
	maxIndexRawBytes   = 512 << 20
	decoderMaxMemory   = 64 << 20
)

func (c *codec) encodeIndex(ix *Index) ([]byte, error) {
	plain, err := json.Marshal(ix)
	if err != nil {
		return nil, fmt.Errorf("encode index: %w", err)
	}
	return c.compress(plain), nil
}

// decodeIndex parses an index plaintext (a zstd frame of JSON) and checks it is self-consistent.
func (c *codec) decodeIndex(data []byte) (*Index, error) {
	plain, err := c.decompress(data, maxIndexRawBytes)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	var ix Index
	if err := json.Unmarshal(plain, &ix); err != nil {
		return nil, fmt.Errorf("index does not parse: %w", err)
	}
	if err := checkVersion("index", ix.Version); err != nil {
		return nil, err
	}
	for i, g := range ix.Groups {
		if g.Resource == "" || g.Version == "" {
			return nil, fmt.Errorf("index group %d has no resource or version", i)
		}
		items := 0
		for j, s := range g.Sections {
			if s.Offset < 0 || s.Length <= 0 || s.Items < 0 || s.RawBytes < 0 || s.RawBytes > maxSectionRawBytes {
				return nil, fmt.Errorf("index group %s/%s section %d has invalid bounds", g.Namespace, g.GroupResource(), j)
			}
			items += s.Items
		}
		if items != g.Items {
			return nil, fmt.Errorf("index group %s/%s counts %d items but its sections hold %d", g.Namespace, g.GroupResource(), g.Items, items)
		}
	}
	return &ix, nil
}

// codec compresses and inflates zstd frames. Its encoder and decoders are safe for concurrent use
// and costly to make, so a repository holds one.
type codec struct {
	enc        *zstd.Encoder
	sectionDec *zstd.Decoder
	indexDec   *zstd.Decoder
}

// sectionLevel is the zstd level of sections and indexes. The fastest level (zstd's 1) stores
// Kubernetes objects in about the size the default level (3) does, at a sixth of its CPU on the
// hexadecimal and base64 values of Secrets and certificates, where the default level's search
// keeps finding 5-byte matches worth nothing (BenchmarkSectionLevels, docs/benchmarks.md).
const sectionLevel = zstd.SpeedFastest

func newCodec() *codec {
	// A window of 2 MiB, a section's size: the default (8 MiB) keeps about 30 MiB of history per
	// encoder for no gain on sections this size.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(sectionLevel), zstd.WithEncoderConcurrency(2), zstd.WithWindowSize(sectionTargetBytes))
	if err != nil {
		panic(fmt.Sprintf("zstd encoder with fixed options: %v", err)) // cannot fail with these options
	}
	newDec := func(limit uint64) *zstd.Decoder {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxMemory(limit))
		if err != nil {
			panic(fmt.Sprintf("zstd decoder with fixed options: %v", err))
		}
		return d
	}
	return &codec{enc: enc, sectionDec: newDec(maxSectionRawBytes), indexDec: newDec(maxIndexRawBytes)}
}

func (c *codec) compress(plain []byte) []byte { return c.enc.EncodeAll(plain, nil) }

// decompress inflates zstd data with the decoder whose memory bound fits the limit, refusing
// output beyond limit.
func (c *codec) decompress(data []byte, limit int64) ([]byte, error) {
	dec := c.sectionDec
	if limit > maxSectionRawBytes {
		dec = c.indexDec
	}
	out, err := dec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("decompressed data exceeds %d bytes", limit)
	}
	return out, nil
}
