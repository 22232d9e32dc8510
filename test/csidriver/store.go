package csidriver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	volumesDir   = "volumes"
	snapshotsDir = "snapshots"
	locksDir     = "locks"
)

// BlockImageName is the one file of a block volume's data directory: the device's bytes.
const BlockImageName = "block.img"

// accessBlock is the AccessType of a block volume; a mount volume's is "".
const accessBlock = "block"

// volume is the metadata of a volume, stored in <state>/volumes/<id>.json.
type volume struct {
	Name           string    `json:"name"`
	CapacityBytes  int64     `json:"capacityBytes"`
	AccessType     string    `json:"accessType,omitempty"`
	SourceSnapshot string    `json:"sourceSnapshot,omitempty"`
	SourceVolume   string    `json:"sourceVolume,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
}

// snapshot is the metadata of a snapshot, stored in <state>/snapshots/<id>.json.
type snapshot struct {
	Name         string    `json:"name"`
	SourceVolume string    `json:"sourceVolume"`
	SizeBytes    int64     `json:"sizeBytes"`
	CreatedAt    time.Time `json:"createdAt"`
	NeverReady   bool      `json:"neverReady,omitempty"`
	// Mode is SnapshotModeFull or SnapshotModeIncremental ("" in metadata older than the modes).
	Mode string `json:"mode,omitempty"`
	// Parent is the snapshot an incremental snapshot hard-links its unchanged files from.
	Parent string `json:"parent,omitempty"`
	// UniqueBytes counts the bytes copied when the snapshot was taken; the rest of SizeBytes are
	// hard links to the parent's files.
	UniqueBytes int64 `json:"uniqueBytes"`
}

func volumeID(name string) string   { return idPrefix(volumesDir) + nameHash(name) }
func snapshotID(name string) string { return idPrefix(snapshotsDir) + nameHash(name) }

func idPrefix(kind string) string {
	if kind == volumesDir {
		return "vol-"
	}
	return "snap-"
}

func nameHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])[:20]
}

// validID reports whether id has the form this driver hands out for objects of the given kind.
// Anything else cannot name an object, and must never reach a file path.
func validID(kind, id string) bool {
	hash, ok := strings.CutPrefix(id, idPrefix(kind))
	if !ok || len(hash) != 20 {
		return false
	}
	_, err := hex.DecodeString(hash)
	return err == nil
}

// VolumeDataDir returns the directory holding the data of the volume with the given ID.
func VolumeDataDir(stateDir, volumeID string) string {
	return filepath.Join(stateDir, volumesDir, volumeID)
}

// store keeps volumes and snapshots as files under root, an absolute path without symlinks; see
// the package documentation.
type store struct {
	root string
}

func newStore(root string) (*store, error) {
	for _, dir := range []string{volumesDir, snapshotsDir, locksDir} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			return nil, fmt.Errorf("create state directory: %w", err)
		}
	}
	// The kernel names a loop device's backing file by its absolute real path, which unpublishing
	// compares with the root (see publishedLoop).
	abs, err := filepath.Abs(root)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve state directory: %w", err)
	}
	return &store{root: abs}, nil
}

func (s *store) metaPath(kind, id string) string { return filepath.Join(s.root, kind, id+".json") }
func (s *store) dataPath(kind, id string) string { return filepath.Join(s.root, kind, id) }

// lock takes an exclusive flock on the object's lock file, serialising changes to that object
// across goroutines and processes sharing the state directory. Call the returned func to unlock.
func (s *store) lock(ctx context.Context, id string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.root, locksDir, id+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", id, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", id, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// exists reports whether the object exists; an ID this driver never hands out names none.
func (s *store) exists(kind, id string) (bool, error) {
	if !validID(kind, id) {
		return false, nil
	}
	_, err := os.Stat(s.metaPath(kind, id))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat metadata: %w", err)
	}
	return true, nil
}

// readMeta decodes the object's metadata into v and reports whether the object exists.
func (s *store) readMeta(kind, id string, v any) (bool, error) {
	b, err := os.ReadFile(s.metaPath(kind, id))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read metadata: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decode metadata of %s: %w", id, err)
	}
	return true, nil
}

// writeMeta writes the object's metadata atomically: a temporary file renamed into place.
func (s *store) writeMeta(kind, id string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metadata of %s: %w", id, err)
	}
	f, err := os.CreateTemp(filepath.Join(s.root, kind), "."+id+".json.tmp-*")
	if err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if _, err := f.Write(append(b, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("write metadata: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write metadata: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	if err := os.Rename(f.Name(), s.metaPath(kind, id)); err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	return nil
}

// populate creates the object's data directory, as a copy of src or empty (mode 0777) if src is
// "", and returns the size of its files. If base is not "", the files that base holds unchanged
// are hard-linked from there rather than copied (see copyTree); only a snapshot may share files so.
// It fills a temporary directory and renames it into place, replacing any leftover of an
// interrupted create or delete. Call it with the lock held.
func (s *store) populate(ctx context.Context, kind, id, src, base string) (treeSize, error) {
	tmp, err := os.MkdirTemp(filepath.Join(s.root, kind), ".tmp-"+id+"-")
	if err != nil {
		return treeSize{}, fmt.Errorf("create data directory: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	var size treeSize
	if src == "" {
		err = os.Chmod(tmp, 0o777)
	} else {
		size, err = copyTree(ctx, src, tmp, base)
	}
	if err != nil {
		return treeSize{}, fmt.Errorf("fill data directory of %s: %w", id, err)
	}
	data := s.dataPath(kind, id)
	if err := os.RemoveAll(data); err != nil {
		return treeSize{}, fmt.Errorf("remove leftover data directory: %w", err)
	}
	if err := os.Rename(tmp, data); err != nil {
		return treeSize{}, fmt.Errorf("create data directory: %w", err)
	}
	return size, nil
}

// remove deletes the object's metadata, then its data, and reports whether the object existed.
// Call it with the lock held.
func (s *store) remove(kind, id string) (bool, error) {
	err := os.Remove(s.metaPath(kind, id))
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("remove metadata: %w", err)
	}
	if err := os.RemoveAll(s.dataPath(kind, id)); err != nil {
		return existed, fmt.Errorf("remove data: %w", err)
	}
	return existed, nil
}

type snapshotEntry struct {
	id string
	snapshot
}

// listSnapshots returns all snapshots ordered by ID.
func (s *store) listSnapshots() ([]snapshotEntry, error) {
	entries, err := os.ReadDir(filepath.Join(s.root, snapshotsDir))
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var out []snapshotEntry
	for _, e := range entries { // ReadDir sorts by file name, hence by ID
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validID(snapshotsDir, id) {
			continue
		}
		var snap snapshot
		found, err := s.readMeta(snapshotsDir, id, &snap)
		if err != nil {
			return nil, err
		}
		if found { // else deleted since ReadDir
			out = append(out, snapshotEntry{id: id, snapshot: snap})
		}
	}
	return out, nil
}

// lockNewestSnapshot locks the most recently created snapshot of the volume, so that it cannot be
// deleted while a new snapshot links its files, and returns its ID and the func that unlocks it.
// The ID is "" if the volume has no snapshot.
func (s *store) lockNewestSnapshot(ctx context.Context, volume string) (string, func(), error) {
	for {
		id, err := s.newestSnapshot(volume)
		if err != nil || id == "" {
			return "", func() {}, err
		}
		unlock, err := s.lock(ctx, id)
		if err != nil {
			return "", nil, err
		}
		found, err := s.exists(snapshotsDir, id)
		if err != nil {
			unlock()
			return "", nil, err
		}
		if found {
			return id, unlock, nil
		}
		unlock() // deleted since listed: look again
	}
}

// newestSnapshot returns the ID of the most recently created snapshot of the volume, or "".
func (s *store) newestSnapshot(volume string) (string, error) {
	all, err := s.listSnapshots()
	if err != nil {
		return "", err
	}
	var newest *snapshotEntry
	for i, e := range all {
		if e.SourceVolume == volume && (newest == nil || e.CreatedAt.After(newest.CreatedAt)) {
			newest = &all[i]
		}
	}
	if newest == nil {
		return "", nil
	}
	return newest.id, nil
}
