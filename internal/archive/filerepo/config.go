package filerepo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

// ConfigKey is where the file store's parameters live.
const ConfigKey = "files/config"

const configVersion = 1

var configContext = []byte("cairn/v1/file-config")

// Config are the file store's parameters (§11).
type Config struct {
	Version   int           `json:"version"`
	CreatedAt time.Time     `json:"createdAt"`
	Chunker   ChunkerConfig `json:"chunker"`
	PackSize  int           `json:"packSize"`
}

// ChunkerConfig are the content-defined chunker's parameters (§12.1).
type ChunkerConfig struct {
	Algorithm  string `json:"algorithm"`
	Key        []byte `json:"key"`
	MinSize    int    `json:"minSize"`
	NormalSize int    `json:"normalSize"`
	MaxSize    int    `json:"maxSize"`
}

// ChunkerFastCDC is the one chunking algorithm: FastCDC with normalized chunking and a gear table
// derived from a secret key, as github.com/PlakarKorp/go-cdc-chunkers names "fastcdc-v1.0.0".
const ChunkerFastCDC = "fastcdc-v1.0.0"

// DefaultPackSize is where writers close a pack.
const DefaultPackSize = 16 << 20

func newConfig(now time.Time) Config {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	return Config{Version: configVersion, CreatedAt: now.UTC(), PackSize: DefaultPackSize,
		Chunker: ChunkerConfig{Algorithm: ChunkerFastCDC, Key: key, MinSize: 256 << 10, NormalSize: 512 << 10, MaxSize: 4 << 20}}
}

func (c Config) check() error {
	k := c.Chunker
	switch {
	case c.Version > configVersion:
		return fmt.Errorf("%s: written by a newer cairn (version %d); upgrade cairn to read it", ConfigKey, c.Version)
	case c.Version < 1:
		return fmt.Errorf("%s: version %d: %w", ConfigKey, c.Version, ErrTampered)
	case k.Algorithm != ChunkerFastCDC:
		return fmt.Errorf("%s: unknown chunker %q", ConfigKey, k.Algorithm)
	case len(k.Key) != 32:
		return fmt.Errorf("%s: the chunker's key is not 32 bytes: %w", ConfigKey, ErrTampered)
	case k.MinSize < 64 || k.MinSize >= k.NormalSize || k.NormalSize >= k.MaxSize || k.MaxSize > MaxDataBlob || k.NormalSize&(k.NormalSize-1) != 0:
		return fmt.Errorf("%s: chunk sizes out of bounds: %w", ConfigKey, ErrTampered)
	case c.PackSize < 1<<20 || c.PackSize > 1<<30:
		return fmt.Errorf("%s: pack size %d out of bounds: %w", ConfigKey, c.PackSize, ErrTampered)
	}
	return nil
}

// ReadConfig reads the file store's parameters; ErrNoFileStore when none were written yet.
func ReadConfig(ctx context.Context, st blob.Storage, keys *Keys) (Config, error) {
	data, err := blob.ReadAll(ctx, st, ConfigKey, 1<<20)
	if errors.Is(err, blob.ErrNotFound) {
		return Config{}, ErrNoFileStore
	}
	if err != nil {
		return Config{}, err
	}
	plain, err := keys.Open(nil, configContext, data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", ConfigKey, err)
	}
	var c Config
	if err := json.Unmarshal(plain, &c); err != nil {
		return Config{}, fmt.Errorf("%s: %w: %w", ConfigKey, err, ErrTampered)
	}
	return c, c.check()
}

// ErrNoFileStore means the repository holds no file data yet.
var ErrNoFileStore = errors.New("the repository holds no file snapshots yet")

// InitConfig writes the file store's parameters if none exist, and returns those in force.
func InitConfig(ctx context.Context, st blob.Storage, keys *Keys, now time.Time) (Config, error) {
	c, err := ReadConfig(ctx, st, keys)
	if !errors.Is(err, ErrNoFileStore) {
		return c, err
	}
	c = newConfig(now)
	plain, err := json.Marshal(c)
	if err != nil {
		return c, fmt.Errorf("encode %s: %w", ConfigKey, err)
	}
	err = put(ctx, st, ConfigKey, keys.Seal(nil, configContext, plain), true)
	if errors.Is(err, blob.ErrAlreadyExists) {
		return ReadConfig(ctx, st, keys)
	}
	return c, err
}
