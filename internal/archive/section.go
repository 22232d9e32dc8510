package archive

import (
	"bytes"
	"fmt"
)

// compressTo appends to dst a section's plaintext-compressed form: one zstd frame of its NDJSON
// (each item compact JSON, newline-terminated).
func (c *codec) compressTo(dst, ndjson []byte) []byte { return c.enc.EncodeAll(ndjson, dst) }

// decodeSection inflates a section and calls fn for each item. It checks the declared raw size
// and item count so a section cannot silently lose or gain items.
func (c *codec) decodeSection(compressed []byte, rawBytes int64, items int, fn func(item []byte) error) error {
	if rawBytes < 0 || rawBytes > maxSectionRawBytes {
		return fmt.Errorf("section declares %d raw bytes (limit %d)", rawBytes, maxSectionRawBytes)
	}
	plain, err := c.decompress(compressed, rawBytes)
	if err != nil {
		return fmt.Errorf("section: %w", err)
	}
	if int64(len(plain)) != rawBytes {
		return fmt.Errorf("section holds %d raw bytes, index says %d: %w", len(plain), rawBytes, ErrTampered)
	}
	n := 0
	for len(plain) > 0 {
		i := bytes.IndexByte(plain, '\n')
		if i < 0 {
			return fmt.Errorf("section's last item is not newline-terminated: %w", ErrTampered)
		}
		line := plain[:i]
		plain = plain[i+1:]
		if len(line) == 0 || line[0] != '{' {
			return fmt.Errorf("section item %d is not a JSON object: %w", n, ErrTampered)
		}
		n++
		if n > items {
			return fmt.Errorf("section holds more than the %d items the index declares: %w", items, ErrTampered)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	if n != items {
		return fmt.Errorf("section holds %d items, index says %d: %w", n, items, ErrTampered)
	}
	return nil
}
