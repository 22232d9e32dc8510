package archive

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
)

const nonceSize = 12

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
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	copy(out, randomBytes(nonceSize))
	return aead.Seal(out, out[:nonceSize], plaintext, []byte(context)), nil
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

func (k Keys) open(context string, sealed []byte) ([]byte, error) {
	if !k.Encrypted {
		return sealed, nil
	}
	return openWith(k.enc, context, sealed)
}
