package archive

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"slices"
)

const nonceSize = 12

// sealOverhead is what sealing adds to a plaintext: the nonce and GCM's 16-byte tag.
const sealOverhead = nonceSize + 16

// ErrTampered means a file failed its authentication or checksum: it was changed, truncated,
// extended or moved.
var ErrTampered = errors.New("integrity check failed: the file was changed, truncated or moved")

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	return cipher.NewGCM(block)
}

// sealWith encrypts plaintext under key, binding it to context: nonce ‖ ciphertext ‖ tag.
func sealWith(key []byte, context string, plaintext []byte) ([]byte, error) {
	return sealAppend(key, nil, context, plaintext)
}

// sealAppend is sealWith appending to dst, so that a pack's sections are sealed in place.
func sealAppend(key, dst []byte, context string, plaintext []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	dst = slices.Grow(dst, len(plaintext)+sealOverhead)
	start := len(dst)
	dst = append(dst, randomBytes(nonceSize)...)
	return aead.Seal(dst, dst[start:], plaintext, []byte(context)), nil
}

func openWith(key []byte, context string, sealed []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < nonceSize+aead.Overhead() {
		return nil, fmt.Errorf("%w (sealed data of %d bytes is too short)", ErrTampered, len(sealed))
	}
	plain, err := aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], []byte(context))
	if err != nil {
		return nil, ErrTampered
	}
	return plain, nil
}

// seal protects a blob of the repository: encrypted with the repository's encryption key, or
// passed through when the repository is not encrypted (its integrity then rests on checksums
// recorded in the authenticated manifest).
func (k Keys) seal(context string, plaintext []byte) ([]byte, error) {
	if !k.Encrypted {
		return plaintext, nil
	}
	return sealWith(k.enc, context, plaintext)
}

// sealAppend is seal appending to dst (the same bytes as seal's result, after dst).
func (k Keys) sealAppend(dst []byte, context string, plaintext []byte) ([]byte, error) {
	if !k.Encrypted {
		return append(dst, plaintext...), nil
	}
	return sealAppend(k.enc, dst, context, plaintext)
}

func (k Keys) open(context string, sealed []byte) ([]byte, error) {
	if !k.Encrypted {
		return sealed, nil
	}
	return openWith(k.enc, context, sealed)
}
