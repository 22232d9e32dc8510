package archive

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Credential is what unlocks a repository: a passphrase or the contents of a key file.
type Credential struct {
	Passphrase []byte
	KeyFile    []byte
}

// ErrWrongKey means the passphrase or key file does not unlock the repository.
var ErrWrongKey = errors.New("wrong passphrase or key file for this repository")

// ErrNoCredential means no passphrase or key file was given.
var ErrNoCredential = errors.New("no repository passphrase or key file: set CAIRN_PASSPHRASE, --passphrase-file or --key-file")

const minKeyFileBytes = 32

func (c Credential) validate() error {
	switch {
	case len(c.Passphrase) == 0 && len(c.KeyFile) == 0:
		return ErrNoCredential
	case len(c.Passphrase) > 0 && len(c.KeyFile) > 0:
		return errors.New("give a passphrase or a key file, not both")
	case len(c.KeyFile) > 0 && len(c.KeyFile) < minKeyFileBytes:
		return fmt.Errorf("key file holds %d bytes; it needs at least %d bytes of secret (e.g. head -c 32 /dev/urandom > key)", len(c.KeyFile), minKeyFileBytes)
	}
	return nil
}

// KDF describes how the key-encryption key is derived from the credential.
type KDF struct {
	Algorithm string `json:"algorithm"` // "argon2id" or "hkdf-sha256"
	Salt      []byte `json:"salt"`
	Time      uint32 `json:"time,omitempty"`
	MemoryKiB uint32 `json:"memoryKiB,omitempty"`
	Threads   uint8  `json:"threads,omitempty"`
}

// DefaultKDF is argon2id with parameters that cost about a third of a second and 64 MiB.
func DefaultKDF() KDF {
	return KDF{Algorithm: "argon2id", Time: 3, MemoryKiB: 64 * 1024, Threads: 2}
}

// Bounds on KDF parameters read from storage: a tampered config must not make cairn allocate
// without limit or spin for hours.
const (
	maxKDFMemoryKiB = 1 << 20 // 1 GiB
	maxKDFTime      = 16
)

func (k KDF) deriveKEK(c Credential) ([]byte, error) {
	if len(k.Salt) < 16 {
		return nil, fmt.Errorf("repository config: KDF salt of %d bytes is too short", len(k.Salt))
	}
	switch {
	case len(c.KeyFile) > 0:
		if k.Algorithm != "hkdf-sha256" {
			return nil, fmt.Errorf("%w: the repository was initialised with a passphrase, not a key file", ErrWrongKey)
		}
		return hkdf.Key(sha256.New, c.KeyFile, k.Salt, "cairn key file v1", 32)
	case k.Algorithm == "argon2id":
		if k.Time == 0 || k.Time > maxKDFTime || k.MemoryKiB < 8 || k.MemoryKiB > maxKDFMemoryKiB || k.Threads == 0 {
			return nil, fmt.Errorf("repository config: argon2id parameters out of bounds (time %d, memory %d KiB, threads %d)", k.Time, k.MemoryKiB, k.Threads)
		}
		return argon2.IDKey(c.Passphrase, k.Salt, k.Time, k.MemoryKiB, k.Threads, 32), nil
	case k.Algorithm == "hkdf-sha256":
		return nil, fmt.Errorf("%w: the repository was initialised with a key file, not a passphrase", ErrWrongKey)
	default:
		return nil, fmt.Errorf("repository config: unknown KDF algorithm %q", k.Algorithm)
	}
}

// Keys are the sub-keys derived from the repository key.
type Keys struct {
	Encrypted bool
	enc       []byte
	macKey    []byte
	files     FileKeys
}

func deriveKeys(master []byte, encrypted bool) (Keys, error) {
	enc, err := hkdf.Key(sha256.New, master, nil, "cairn encryption v1", 32)
	if err != nil {
		return Keys{}, fmt.Errorf("derive encryption key: %w", err)
	}
	mac, err := hkdf.Key(sha256.New, master, nil, "cairn mac v1", 32)
	if err != nil {
		return Keys{}, fmt.Errorf("derive mac key: %w", err)
	}
	files, err := deriveFileKeys(master, encrypted)
	if err != nil {
		return Keys{}, err
	}
	return Keys{Encrypted: encrypted, enc: enc, macKey: mac, files: files}, nil
}

func (k Keys) keyCheck() string {
	m := hmac.New(sha256.New, k.macKey)
	m.Write([]byte("cairn key check"))
	return hex.EncodeToString(m.Sum(nil))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return b
}
