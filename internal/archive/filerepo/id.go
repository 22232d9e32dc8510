package filerepo

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// ID identifies a blob: the keyed BLAKE3 hash of its plaintext (§10).
type ID [32]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// MarshalText writes the ID as 64 hex digits.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText reads 64 hex digits.
func (id *ID) UnmarshalText(b []byte) error {
	parsed, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// ParseID reads an ID written as 64 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	err := decodeHex("blob ID", s, id[:])
	return id, err
}

// decodeHex fills dst from exactly 2×len(dst) hex digits; what names the value in errors.
func decodeHex(what, s string, dst []byte) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%s %q: want %d hex digits", what, s, 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("%s %q: %w", what, s, err)
	}
	return nil
}

// BlobType tells a chunk of file data from a tree.
type BlobType uint8

// Blob types, as stored in pack headers and index files.
const (
	DataBlob BlobType = 1
	TreeBlob BlobType = 2
)

func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case TreeBlob:
		return "tree"
	}
	return fmt.Sprintf("blob type %d", uint8(t))
}

func (t BlobType) valid() bool { return t == DataBlob || t == TreeBlob }

// Name names a pack, an index file, a snapshot, a lock or a mark: 16 random bytes, 32 hex digits.
type Name [16]byte

// NewName returns a random name.
func NewName() Name {
	var n Name
	_, _ = rand.Read(n[:]) // crypto/rand.Read never fails
	return n
}

func (n Name) String() string { return hex.EncodeToString(n[:]) }

// ParseName reads a name written as 32 hex digits.
func ParseName(s string) (Name, error) {
	var n Name
	err := decodeHex("name", s, n[:])
	return n, err
}

// MarshalText writes the name as 32 hex digits.
func (n Name) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText reads 32 hex digits.
func (n *Name) UnmarshalText(b []byte) error {
	parsed, err := ParseName(string(b))
	if err != nil {
		return err
	}
	*n = parsed
	return nil
}
