package archive

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

// envelope is the authenticated wrapper of manifests and restore results.
type envelope struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	Encrypted bool   `json:"encrypted"`
	Payload   []byte `json:"payload"`
	MAC       string `json:"mac"`
}

// Envelope formats.
const (
	formatManifest      = "cairn-manifest"
	formatRestoreResult = "cairn-restore-result"
	formatRestoreItems  = "cairn-restore-items"
)

// maxEnvelopeBytes bounds what a reader loads: a manifest lists every file of a backup, a restore
// result every item, so this is generous.
const maxEnvelopeBytes = 256 << 20

func (k Keys) sign(format string, version int, payload []byte) string {
	m := hmac.New(sha256.New, k.macKey)
	m.Write([]byte(format))
	m.Write([]byte{0})
	m.Write([]byte(strconv.Itoa(version)))
	m.Write([]byte{0})
	m.Write(payload)
	return hex.EncodeToString(m.Sum(nil))
}

func hmacEqualHex(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// encodeEnvelope seals and authenticates v as the payload of an envelope.
func (k Keys) encodeEnvelope(format, context string, v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", format, err)
	}
	payload, err := k.seal(context, plain)
	if err != nil {
		return nil, err
	}
	env := envelope{Format: format, Version: FormatVersion, Encrypted: k.Encrypted, Payload: payload,
		MAC: k.sign(format, FormatVersion, payload)}
	data, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", format, err)
	}
	return append(data, '\n'), nil
}

// decodeEnvelope authenticates an envelope and unseals its payload into v. what names the file in
// errors.
func (k Keys) decodeEnvelope(what, format, context string, data []byte, v any) error {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("%s is not a %s envelope: %w", what, format, ErrTampered)
	}
	if env.Format != format {
		return fmt.Errorf("%s: format %q, want %q: %w", what, env.Format, format, ErrTampered)
	}
	if err := checkVersion(what, env.Version); err != nil {
		return err
	}
	if !hmacEqualHex(k.sign(env.Format, env.Version, env.Payload), env.MAC) {
		return fmt.Errorf("%s: authentication failed: %w", what, ErrTampered)
	}
	if env.Encrypted != k.Encrypted {
		return fmt.Errorf("%s: encryption flag does not match the repository: %w", what, ErrTampered)
	}
	plain, err := k.open(context, env.Payload)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("%s: payload does not parse: %w", what, err)
	}
	return nil
}

func (r *Repository) putEnvelope(ctx context.Context, key, format, context string, v any, retainUntil time.Time) error {
	data, err := r.keys.encodeEnvelope(format, context, v)
	if err != nil {
		return err
	}
	if err := r.storage.Put(ctx, key, bytes.NewReader(data), blob.PutOptions{IfNotExists: true, RetainUntil: retainUntil}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

func (r *Repository) getEnvelope(ctx context.Context, key, format, context string, v any) error {
	data, err := r.readAll(ctx, key, maxEnvelopeBytes)
	if err != nil {
		return err
	}
	return r.keys.decodeEnvelope(key, format, context, data, v)
}

// readAll reads a whole blob, refusing one larger than limit.
func (r *Repository) readAll(ctx context.Context, key string, limit int64) ([]byte, error) {
	return blob.ReadAll(ctx, r.storage, key, limit)
}
