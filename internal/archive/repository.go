package archive

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

// FormatVersion is the newest format version this cairn writes and reads.
const FormatVersion = 1

const configKey = "cairn.repository"

// Encryption names.
const (
	EncryptionAES256GCM = "AES-256-GCM"
	EncryptionNone      = "none"
)

// ErrNoRepository means the storage holds no cairn repository.
var ErrNoRepository = errors.New("no cairn repository at this location")

// Config is the plaintext repository config, cairn.repository.
type Config struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"createdAt"`
	Encryption string    `json:"encryption"`
	KDF        KDF       `json:"kdf"`
	WrappedKey []byte    `json:"wrappedKey"`
	KeyCheck   string    `json:"keyCheck"`
}

// Repository is an unlocked repository.
type Repository struct {
	storage blob.Storage
	config  Config
	keys    Keys
	codec   *codec
}

// InitOptions choose how a new repository protects its data.
type InitOptions struct {
	Encrypt bool
	// KDF for passphrases; zero means DefaultKDF. Tests use cheaper parameters.
	KDF KDF
	Now time.Time
}

// Init creates a repository in storage. It fails with blob.ErrAlreadyExists if one exists.
func Init(ctx context.Context, storage blob.Storage, cred Credential, opts InitOptions) (*Repository, error) {
	if err := cred.validate(); err != nil {
		return nil, err
	}
	kdf := opts.KDF
	if kdf.Algorithm == "" {
		kdf = DefaultKDF()
	}
	if len(cred.KeyFile) > 0 {
		kdf = KDF{Algorithm: "hkdf-sha256"}
	}
	kdf.Salt = randomBytes(16)
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	cfg := Config{Format: "cairn-repository", Version: FormatVersion, ID: hex.EncodeToString(randomBytes(16)),
		CreatedAt: now.UTC().Truncate(time.Second), Encryption: EncryptionNone, KDF: kdf}
	if opts.Encrypt {
		cfg.Encryption = EncryptionAES256GCM
	}
	kek, err := kdf.deriveKEK(cred)
	if err != nil {
		return nil, err
	}
	master := randomBytes(32)
	if cfg.WrappedKey, err = sealWith(kek, wrapContext(cfg.ID), master); err != nil {
		return nil, err
	}
	keys, err := deriveKeys(master, opts.Encrypt)
	if err != nil {
		return nil, err
	}
	cfg.KeyCheck = keys.keyCheck()
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode repository config: %w", err)
	}
	if err := storage.Put(ctx, configKey, bytes.NewReader(append(data, '\n')), blob.PutOptions{IfNotExists: true}); err != nil {
		return nil, fmt.Errorf("write %s to %s: %w", configKey, storage, err)
	}
	return &Repository{storage: storage, config: cfg, keys: keys, codec: newCodec()}, nil
}

func wrapContext(id string) string { return "cairn repository key v1\x00" + id }

// Open unlocks the repository in storage with the credential.
func Open(ctx context.Context, storage blob.Storage, cred Credential) (*Repository, error) {
	if err := cred.validate(); err != nil {
		return nil, err
	}
	cfg, err := ReadConfig(ctx, storage)
	if err != nil {
		return nil, err
	}
	kek, err := cfg.KDF.deriveKEK(cred)
	if err != nil {
		return nil, err
	}
	master, err := openWith(kek, wrapContext(cfg.ID), cfg.WrappedKey)
	if err != nil {
		return nil, ErrWrongKey
	}
	keys, err := deriveKeys(master, cfg.Encryption == EncryptionAES256GCM)
	if err != nil {
		return nil, err
	}
	if !hmacEqualHex(keys.keyCheck(), cfg.KeyCheck) {
		return nil, fmt.Errorf("%s: key check does not match: %w", configKey, ErrTampered)
	}
	return &Repository{storage: storage, config: cfg, keys: keys, codec: newCodec()}, nil
}

// ReadConfig reads the plaintext repository config without unlocking it.
func ReadConfig(ctx context.Context, storage blob.Storage) (Config, error) {
	rc, err := storage.Get(ctx, configKey, 0, -1)
	if errors.Is(err, blob.ErrNotFound) {
		return Config{}, fmt.Errorf("%w %s (initialise one with a first backup, or check --storage)", ErrNoRepository, storage)
	}
	if err != nil {
		return Config{}, fmt.Errorf("read %s: %w", configKey, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<10))
	if err != nil {
		return Config{}, fmt.Errorf("read %s: %w", configKey, err)
	}
	return parseConfig(data)
}

func parseConfig(data []byte) (Config, error) {
	var cfg Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("%s is not a repository config: %w", configKey, err)
	}
	if cfg.Format != "cairn-repository" {
		return Config{}, fmt.Errorf("%s: format %q is not a cairn repository", configKey, cfg.Format)
	}
	if err := checkVersion(configKey, cfg.Version); err != nil {
		return Config{}, err
	}
	switch cfg.Encryption {
	case EncryptionAES256GCM, EncryptionNone:
	default:
		return Config{}, fmt.Errorf("%s: unknown encryption %q", configKey, cfg.Encryption)
	}
	return cfg, nil
}

func checkVersion(what string, v int) error {
	switch {
	case v < 1:
		return fmt.Errorf("%s: invalid format version %d", what, v)
	case v > FormatVersion:
		return fmt.Errorf("%s was written by a newer cairn (format version %d; this cairn reads up to %d): upgrade cairn to read it", what, v, FormatVersion)
	}
	return nil
}

// Config returns the repository's config.
func (r *Repository) Config() Config { return r.config }

// Storage returns where the repository lives.
func (r *Repository) Storage() blob.Storage { return r.storage }

// OnStorage is the repository, with the keys it was opened with, over another storage (a
// decorator of its own storage, read-only say): opening it again would derive the key again,
// a second of CPU with a passphrase.
func (r *Repository) OnStorage(s blob.Storage) *Repository {
	return &Repository{storage: s, config: r.config, keys: r.keys, codec: r.codec}
}

// Encrypted tells whether the repository encrypts its data.
func (r *Repository) Encrypted() bool { return r.keys.Encrypted }
