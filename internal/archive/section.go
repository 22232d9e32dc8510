package archive

import (
	"bytes"
	"fmt"
)

// compressTo appends to dst a section's plaintext-compressed form: one zstd frame of its NDJSON
// (each item compact JSON, newline-terminated).
func (c *codec) compressTo(dst, ndjson []byte) []byte { return c.enc.EncodeAll(ndjson, dst) }

// decodeSection inflates a section and returns its items, each a slice of the plaintext. It
// checks the declared raw size and item count so a section cannot silently lose or gain items.
func (c *codec) decodeSection(compressed []byte, rawBytes int64, items int) ([][]byte, error) {
	if rawBytes < 0 || rawBytes > maxSectionRawBytes {
		return nil, fmt.Errorf("section declares %d raw bytes (limit %d)", rawBytes, maxSectionRawBytes)
	}
	if items < 0 || int64(items) > rawBytes/2 {
		return nil, fmt.Errorf("section declares %d items in %d bytes: %w", items, rawBytes, ErrTampered)
	}
	plain, err := c.decompress(compressed, rawBytes)
	if err != nil {
		return nil, fmt.Errorf("section: %w", err)
	}
	if int64(len(plain)) != rawBytes {
		return nil, fmt.Errorf("section holds %d raw bytes, index says %d: %w", len(plain), rawBytes, ErrTampered)
	}
	out := make([][]byte, 0, min(items, 1024)) // items comes from the index: no allocation on its word
	for len(plain) > 0 {
		i := bytes.IndexByte(plain, '\n')
		if i < 0 {
			return nil, fmt.Errorf("section's last item is not newline-terminated: %w", ErrTampered)
		}
		line := plain[:i:i]
		plain = plain[i+1:]
		if len(line) == 0 || line[0] != '{' {
			return nil, fmt.Errorf("section item %d is not a JSON object: %w", len(out), ErrTampered)
		}
		if len(out) == items {
			return nil, fmt.Errorf("section holds more than the %d items the index declares: %w", items, ErrTampered)
		}
		out = append(out, line)
	}
	if len(out) != items {
		return nil, fmt.Errorf("section holds %d items, index says %d: %w", len(out), items, ErrTampered)
	}
	return out, nil
}
