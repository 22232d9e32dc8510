package ui

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
)

// newAEAD is AES-GCM under key (32 bytes: AES-256).
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealText seals plain under aead with a random nonce, bound to ad, as URL-safe text.
func sealText(aead cipher.AEAD, plain, ad []byte) (string, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, ad)), nil
}

// openText opens what sealText made under the same key and ad; ok is false for anything else.
func openText(aead cipher.AEAD, text string, ad []byte) (plain []byte, ok bool) {
	sealed, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(sealed) < aead.NonceSize() {
		return nil, false
	}
	plain, err = aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], ad)
	return plain, err == nil
}
