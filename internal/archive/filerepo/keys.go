package filerepo

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/zeebo/blake3"

	"github.com/cairnbackup/cairn/internal/archive"
)

const nonceSize = 12

// ErrTampered means a sealed unit failed its authentication, or a blob its hash.
var ErrTampered = archive.ErrTampered

// Keys seal and identify the file store's units (§11). Safe for concurrent use.
type Keys struct {
	encrypted bool
	aead      cipher.AEAD
	mac       [32]byte
	hashers   sync.Pool
}

// NewKeys prepares the file store's keys of a repository.
func NewKeys(fk archive.FileKeys) (*Keys, error) {
	k := &Keys{encrypted: fk.Encrypted, mac: fk.MAC}
	block, err := aes.NewCipher(fk.Enc[:])
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	idKey := fk.ID
	if _, err := blake3.NewKeyed(idKey[:]); err != nil {
		return nil, fmt.Errorf("blake3: %w", err)
	}
	k.hashers.New = func() any {
		h, _ := blake3.NewKeyed(idKey[:]) // the key's length was checked above
		return h
	}
	return k, nil
}

// ID is the keyed hash of plaintext.
func (k *Keys) ID(plaintext []byte) ID {
	h := k.hashers.Get().(*blake3.Hasher)
	h.Reset()
	_, _ = h.Write(plaintext)
	var id ID
	h.Sum(id[:0])
	k.hashers.Put(h)
	return id
}

// Overhead is what sealing adds to a plaintext.
func (k *Keys) Overhead() int {
	if k.encrypted {
		return nonceSize + k.aead.Overhead()
	}
	return sha256.Size
}

// Seal appends fseal(context, plaintext) to dst.
func (k *Keys) Seal(dst, context, plaintext []byte) []byte {
	if !k.encrypted {
		dst = append(dst, plaintext...)
		return k.appendMAC(dst, context, plaintext)
	}
	start := len(dst)
	dst = append(dst, make([]byte, nonceSize)...)
	nonce := dst[start : start+nonceSize]
	_, _ = rand.Read(nonce)
	return k.aead.Seal(dst, nonce, plaintext, context)
}

// Open returns the plaintext of a sealed unit, appended to dst; ErrTampered if it fails.
func (k *Keys) Open(dst, context, sealed []byte) ([]byte, error) {
	if len(sealed) < k.Overhead() {
		return nil, fmt.Errorf("%w (sealed unit of %d bytes is too short)", ErrTampered, len(sealed))
	}
	if !k.encrypted {
		plain := sealed[:len(sealed)-sha256.Size]
		want := k.appendMAC(nil, context, plain)
		if !hmac.Equal(want, sealed[len(plain):]) {
			return nil, ErrTampered
		}
		return append(dst, plain...), nil
	}
	out, err := k.aead.Open(dst, sealed[:nonceSize], sealed[nonceSize:], context)
	if err != nil {
		return nil, ErrTampered
	}
	return out, nil
}

func (k *Keys) appendMAC(dst, context, plaintext []byte) []byte {
	m := hmac.New(sha256.New, k.mac[:])
	m.Write(context)
	m.Write(plaintext)
	return m.Sum(dst)
}
