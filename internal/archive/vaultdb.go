package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

// A copy of the vault's database (docs/design/format.md, Part 3).
const (
	formatVaultDB    = "cairn-vault-db"
	vaultDBPrefix    = "vault-db/"
	vaultDBPartBytes = 4 << 20
	// VaultDBNameLayout is how a copy's name spells the time it was taken (UTC).
	VaultDBNameLayout = "20060102-150405"
)

// ErrVaultDBNotFound means the repository holds no complete copy of that name (or none at all).
var ErrVaultDBNotFound = errors.New("no such copy of the vault's database")

// VaultDBCopy describes a copy of the vault's database: its manifest's payload.
type VaultDBCopy struct {
	FormatVersion int       `json:"formatVersion"`
	Name          string    `json:"name"`
	TakenAt       time.Time `json:"takenAt"`
	// Engine is the database the copy is of ("sqlite").
	Engine string `json:"engine"`
	// SchemaVersion is the vault's newest migration in the copy.
	SchemaVersion int    `json:"schemaVersion"`
	CairnVersion  string `json:"cairnVersion"`
	// Size and SHA256 are the database file's.
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"`
	Parts  []FileEntry `json:"parts"`
}

// VaultDBListing is one copy as a listing finds it: complete (Copy set) or not (Problem set).
type VaultDBListing struct {
	Name    string       `json:"name"`
	Copy    *VaultDBCopy `json:"copy,omitempty"`
	Problem string       `json:"problem,omitempty"`
}

// VaultDBName is the name of a copy taken at t.
func VaultDBName(t time.Time) string { return t.UTC().Format(VaultDBNameLayout) }

func vaultDBManifestKey(name string) string { return vaultDBPrefix + name + "/manifest" }
func vaultDBContext(name string) string     { return "cairn/v1/vault-db\x00" + name }
func vaultDBPartName(n int) string          { return fmt.Sprintf("parts/%06d", n) }
func vaultDBPartContext(name string, n int) string {
	return vaultDBContext(name) + "\x00" + strconv.Itoa(n)
}

func validVaultDBName(name string) error {
	if _, err := time.Parse(VaultDBNameLayout, name); err != nil {
		return fmt.Errorf("invalid copy name %q: a copy is named by its UTC time, YYYYMMDD-HHMMSS", name)
	}
	return nil
}

// PutVaultDB stores the database file read from src as the copy meta.Name, in parts, and commits
// it with its manifest, which it returns. A copy of that name must not exist.
func (r *Repository) PutVaultDB(ctx context.Context, meta VaultDBCopy, src io.Reader) (VaultDBCopy, error) {
	if err := validVaultDBName(meta.Name); err != nil {
		return meta, err
	}
	meta.FormatVersion, meta.Size, meta.Parts = FormatVersion, 0, nil
	whole := sha256.New()
	buf := make([]byte, vaultDBPartBytes)
	for n := 1; ; n++ {
		got, err := io.ReadFull(src, buf)
		if got > 0 {
			whole.Write(buf[:got])
			meta.Size += int64(got)
			entry, perr := r.putVaultDBPart(ctx, meta.Name, n, buf[:got])
			if perr != nil {
				return meta, perr
			}
			meta.Parts = append(meta.Parts, entry)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return meta, fmt.Errorf("read the database: %w", err)
		}
	}
	meta.SHA256 = hex.EncodeToString(whole.Sum(nil))
	key := vaultDBManifestKey(meta.Name)
	if err := r.putEnvelope(ctx, key, formatVaultDB, vaultDBContext(meta.Name), meta, time.Time{}); err != nil {
		return meta, err
	}
	return meta, nil
}

func (r *Repository) putVaultDBPart(ctx context.Context, name string, n int, plain []byte) (FileEntry, error) {
	sealed, err := r.keys.seal(vaultDBPartContext(name, n), r.codec.compress(plain))
	if err != nil {
		return FileEntry{}, err
	}
	entry := FileEntry{Name: vaultDBPartName(n), Size: int64(len(sealed))}
	sum := sha256.Sum256(sealed)
	entry.SHA256 = hex.EncodeToString(sum[:])
	key := vaultDBPrefix + name + "/" + entry.Name
	if err := r.storage.Put(ctx, key, bytes.NewReader(sealed), blob.PutOptions{IfNotExists: true}); err != nil {
		return entry, fmt.Errorf("write %s: %w", key, err)
	}
	return entry, nil
}

// VaultDBCopies lists the copies in name (time) order, the incomplete and unreadable ones with
// their problem.
func (r *Repository) VaultDBCopies(ctx context.Context) ([]VaultDBListing, error) {
	var names []string
	err := r.storage.List(ctx, vaultDBPrefix, func(info blob.Info) error {
		name, _, ok := strings.Cut(strings.TrimPrefix(info.Key, vaultDBPrefix), "/")
		if ok && (len(names) == 0 || names[len(names)-1] != name) {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the vault's database copies: %w", err)
	}
	out := make([]VaultDBListing, 0, len(names))
	for _, name := range names {
		l := VaultDBListing{Name: name}
		c, err := r.VaultDBManifest(ctx, name)
		switch {
		case errors.Is(err, ErrVaultDBNotFound):
			l.Problem = "incomplete: no manifest (the copy stopped before it ended)"
		case err != nil:
			l.Problem = err.Error()
		default:
			l.Copy = &c
		}
		out = append(out, l)
	}
	return out, nil
}

// VaultDBManifest reads and authenticates the manifest of copy name.
func (r *Repository) VaultDBManifest(ctx context.Context, name string) (VaultDBCopy, error) {
	var c VaultDBCopy
	if err := validVaultDBName(name); err != nil {
		return c, err
	}
	err := r.getEnvelope(ctx, vaultDBManifestKey(name), formatVaultDB, vaultDBContext(name), &c)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return c, fmt.Errorf("%w: %q", ErrVaultDBNotFound, name)
	case err != nil:
		return c, err
	case c.Name != name:
		return c, fmt.Errorf("%s names copy %q: %w", vaultDBManifestKey(name), c.Name, ErrTampered)
	}
	return c, checkVersion(vaultDBManifestKey(name), c.FormatVersion)
}

// GetVaultDB writes the database file of copy name to dst, checking every part and the whole
// file against the manifest, which it returns. dst may hold part of the file when it fails.
func (r *Repository) GetVaultDB(ctx context.Context, name string, dst io.Writer) (VaultDBCopy, error) {
	c, err := r.VaultDBManifest(ctx, name)
	if err != nil {
		return c, err
	}
	whole := sha256.New()
	var size int64
	for i, p := range c.Parts {
		plain, err := r.readVaultDBPart(ctx, name, i+1, p)
		if err != nil {
			return c, err
		}
		whole.Write(plain)
		size += int64(len(plain))
		if _, err := dst.Write(plain); err != nil {
			return c, fmt.Errorf("write the database: %w", err)
		}
	}
	if size != c.Size || hex.EncodeToString(whole.Sum(nil)) != c.SHA256 {
		return c, fmt.Errorf("copy %s: the database read back (%d bytes) does not match its manifest (%d bytes, sha256 %s): %w",
			name, size, c.Size, c.SHA256, ErrTampered)
	}
	return c, nil
}

func (r *Repository) readVaultDBPart(ctx context.Context, name string, n int, p FileEntry) ([]byte, error) {
	if p.Name != vaultDBPartName(n) {
		return nil, fmt.Errorf("copy %s: part %d is named %q: %w", name, n, p.Name, ErrTampered)
	}
	key := vaultDBPrefix + name + "/" + p.Name
	sealed, err := r.readAll(ctx, key, vaultDBPartBytes+vaultDBPartBytes/2)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(sealed)
	if int64(len(sealed)) != p.Size || hex.EncodeToString(sum[:]) != p.SHA256 {
		return nil, fmt.Errorf("%s: size or checksum differs from the manifest: %w", key, ErrTampered)
	}
	compressed, err := r.keys.open(vaultDBPartContext(name, n), sealed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	plain, err := r.codec.decompress(compressed, vaultDBPartBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", key, ErrTampered, err)
	}
	return plain, nil
}

// DeleteVaultDB deletes copy name, complete or not: its manifest first, then its parts.
func (r *Repository) DeleteVaultDB(ctx context.Context, name string) error {
	if err := validVaultDBName(name); err != nil {
		return err
	}
	keys := []string{vaultDBManifestKey(name)}
	err := r.storage.List(ctx, vaultDBPrefix+name+"/parts/", func(info blob.Info) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list copy %s: %w", name, err)
	}
	for _, k := range keys {
		if err := r.storage.Delete(ctx, k); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return fmt.Errorf("delete %s: %w", k, err)
		}
	}
	return nil
}
