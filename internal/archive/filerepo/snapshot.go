package filerepo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
)

// SnapshotsPrefix is where file snapshots live.
const SnapshotsPrefix = "files/snapshots/"

const (
	snapshotFormat  = "cairn-file-snapshot"
	snapshotVersion = 1
	maxSnapshot     = 16 << 20
)

// Snapshot is the commit record of one backup of a source (§13.3).
type Snapshot struct {
	FormatVersion int               `json:"formatVersion"`
	ID            string            `json:"id"`
	Time          time.Time         `json:"time"`
	Source        string            `json:"source"`
	Path          string            `json:"path"`
	Hostname      string            `json:"hostname,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	Tree          ID                `json:"tree"`
	Parent        string            `json:"parent,omitempty"`
	CairnVersion  string            `json:"cairnVersion,omitempty"`
	Summary       Summary           `json:"summary"`
	// Device marks a snapshot of a block device: its root tree holds one file, DeviceImage.
	Device bool `json:"device,omitempty"`
}

// DeviceImage is the name of the one file of a device snapshot's root tree: the device's bytes.
const DeviceImage = "device.img"

// Summary counts what a backup found and stored.
type Summary struct {
	Files           int64   `json:"files"`
	Dirs            int64   `json:"dirs"`
	Links           int64   `json:"links"`
	Others          int64   `json:"others"`
	Bytes           int64   `json:"bytes"`
	ReadBytes       int64   `json:"readBytes"`
	UnchangedFiles  int64   `json:"unchangedFiles"`
	NewBlobs        int64   `json:"newBlobs"`
	NewRawBytes     int64   `json:"newRawBytes"`
	AddedBytes      int64   `json:"addedBytes"`
	DurationSeconds float64 `json:"durationSeconds"`
	Errors          int64   `json:"errors"`
}

// SnapshotKey is the storage key of a snapshot.
func SnapshotKey(id string) string { return SnapshotsPrefix + id }

func snapshotContext(id string) string { return "cairn/v1/file-snapshot\x00" + id }

// SaveSnapshot writes a snapshot, create-only, with a new random ID it sets.
func SaveSnapshot(ctx context.Context, repo *archive.Repository, s *Snapshot) error {
	s.ID = NewName().String()
	s.FormatVersion = snapshotVersion
	data, err := repo.EncodeEnvelope(snapshotFormat, snapshotContext(s.ID), s)
	if err != nil {
		return err
	}
	return put(ctx, repo.Storage(), SnapshotKey(s.ID), data, true)
}

// LoadSnapshot reads one snapshot by its full ID.
func LoadSnapshot(ctx context.Context, repo *archive.Repository, id string) (*Snapshot, error) {
	key := SnapshotKey(id)
	data, err := blob.ReadAll(ctx, repo.Storage(), key, maxSnapshot)
	if err != nil {
		return nil, err
	}
	var s Snapshot
	if err := repo.DecodeEnvelope(key, snapshotFormat, snapshotContext(id), data, &s); err != nil {
		return nil, err
	}
	if s.ID != id {
		return nil, fmt.Errorf("%s names itself %q: %w", key, s.ID, ErrTampered)
	}
	if s.FormatVersion > snapshotVersion {
		return nil, fmt.Errorf("%s: written by a newer cairn (format version %d); upgrade cairn to read it", key, s.FormatVersion)
	}
	return &s, nil
}

// SnapshotIDs lists the IDs of every snapshot.
func SnapshotIDs(ctx context.Context, st blob.Storage) ([]string, error) {
	var ids []string
	err := st.List(ctx, SnapshotsPrefix, func(info blob.Info) error {
		id := strings.TrimPrefix(info.Key, SnapshotsPrefix)
		if _, err := ParseName(id); err == nil {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	return ids, nil
}

// ListSnapshots reads every snapshot, oldest first.
func ListSnapshots(ctx context.Context, repo *archive.Repository) ([]*Snapshot, error) {
	ids, err := SnapshotIDs(ctx, repo.Storage())
	if err != nil {
		return nil, err
	}
	out := make([]*Snapshot, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, id := range ids {
		g.Go(func() error {
			s, err := LoadSnapshot(gctx, repo, id)
			out[i] = s
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *Snapshot) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ErrSnapshotNotFound means no snapshot matches what the user named.
var ErrSnapshotNotFound = errors.New("no such file snapshot")

// FindSnapshot resolves what a user names: a snapshot's ID, a unique prefix of at least 4 hex
// digits, or "latest" (of source when given).
func FindSnapshot(snaps []*Snapshot, ref, source string) (*Snapshot, error) {
	if ref == "latest" {
		for i := len(snaps) - 1; i >= 0; i-- {
			if source == "" || snaps[i].Source == source {
				return snaps[i], nil
			}
		}
		if source != "" {
			return nil, fmt.Errorf("%w of source %q", ErrSnapshotNotFound, source)
		}
		return nil, fmt.Errorf("%w: the repository holds none", ErrSnapshotNotFound)
	}
	if len(ref) < 4 {
		return nil, fmt.Errorf("snapshot %q: give at least 4 hex digits of its ID, or latest", ref)
	}
	var found *Snapshot
	for _, s := range snaps {
		if strings.HasPrefix(s.ID, ref) {
			if found != nil {
				return nil, fmt.Errorf("snapshot %q is ambiguous: %s and %s match; give more digits", ref, found.ID, s.ID)
			}
			found = s
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w %q (cairn files list shows them)", ErrSnapshotNotFound, ref)
	}
	return found, nil
}

// DeleteSnapshot removes a snapshot's record (§16: the data goes at the next collections).
func DeleteSnapshot(ctx context.Context, st blob.Storage, id string) error {
	if err := st.Delete(ctx, SnapshotKey(id)); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	return nil
}
