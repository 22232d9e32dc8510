package archive

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// FileKeys are the keys of the file store (format Part 2, §11), derived from the repository key
// beside Part 1's: the store's encryption key, its MAC key for unencrypted repositories, and the
// key of its blob IDs.
type FileKeys struct {
	Encrypted bool
	Enc       [32]byte
	MAC       [32]byte
	ID        [32]byte
}

func deriveFileKeys(master []byte, encrypted bool) (FileKeys, error) {
	k := FileKeys{Encrypted: encrypted}
	for _, d := range []struct {
		info string
		dst  *[32]byte
	}{
		{"cairn file data encryption v1", &k.Enc},
		{"cairn file data mac v1", &k.MAC},
		{"cairn file chunk id v1", &k.ID},
	} {
		key, err := hkdf.Key(sha256.New, master, nil, d.info, 32)
		if err != nil {
			return FileKeys{}, fmt.Errorf("derive %s key: %w", d.info, err)
		}
		copy(d.dst[:], key)
	}
	return k, nil
}

// FileKeys returns the keys of the repository's file store.
func (r *Repository) FileKeys() FileKeys { return r.keys.files }

// EncodeEnvelope seals and authenticates v as an envelope of format, bound to context (§4.3), for
// the other parts of the format that keep their records in envelopes.
func (r *Repository) EncodeEnvelope(format, context string, v any) ([]byte, error) {
	return r.keys.encodeEnvelope(format, context, v)
}

// DecodeEnvelope authenticates an envelope of format bound to context and unseals it into v;
// what names the file in errors.
func (r *Repository) DecodeEnvelope(what, format, context string, data []byte, v any) error {
	return r.keys.decodeEnvelope(what, format, context, data, v)
}
