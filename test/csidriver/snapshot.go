package csidriver

import (
	"context"
	"strconv"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// NeverReadyParameter is a test hook: a CreateSnapshot parameter that, set to "true", makes the
// driver record the snapshot but always report it as not ready to use.
const NeverReadyParameter = "cairn.dev/never-ready"

// SnapshotModeParameter is the CreateSnapshot parameter choosing how a snapshot stores its data:
// SnapshotModeFull (the default) copies every file; SnapshotModeIncremental hard-links the files
// that the newest earlier snapshot of the same volume holds unchanged, and copies the rest.
const (
	SnapshotModeParameter   = "cairn.dev/snapshot-mode"
	SnapshotModeFull        = "full"
	SnapshotModeIncremental = "incremental"
)

func (d *driver) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "CreateSnapshot: name is required")
	}
	source := req.GetSourceVolumeId()
	if source == "" {
		return nil, status.Error(codes.InvalidArgument, "CreateSnapshot: source_volume_id is required")
	}
	mode, err := snapshotMode(req.GetParameters())
	if err != nil {
		return nil, err
	}
	id := snapshotID(req.GetName())
	unlock, err := d.store.lock(ctx, id)
	if err != nil {
		return nil, internal("lock snapshot", err)
	}
	defer unlock()

	var got snapshot
	found, err := d.store.readMeta(snapshotsDir, id, &got)
	if err != nil {
		return nil, internal("read snapshot", err)
	}
	if found {
		if got.SourceVolume != source {
			return nil, status.Errorf(codes.AlreadyExists,
				"snapshot %q already exists as %s of volume %q, not of %q", req.GetName(), id, got.SourceVolume, source)
		}
		return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(id, got)}, nil
	}

	if err := d.requireVolume(source); err != nil {
		return nil, err
	}
	snap, err := d.fillSnapshot(ctx, id, source, mode)
	if err != nil {
		return nil, err
	}
	snap.Name = req.GetName()
	snap.NeverReady = req.GetParameters()[NeverReadyParameter] == "true"
	if err := d.store.writeMeta(snapshotsDir, id, snap); err != nil {
		return nil, internal("create snapshot", err)
	}
	d.log.Info("snapshot created", "snapshot", id, "name", snap.Name, "volume", source, "mode", snap.Mode, "parent", snap.Parent,
		"sizeBytes", snap.SizeBytes, "uniqueBytes", snap.UniqueBytes, "neverReady", snap.NeverReady)
	return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(id, snap)}, nil
}

func snapshotMode(params map[string]string) (string, error) {
	switch m := params[SnapshotModeParameter]; m {
	case "", SnapshotModeFull:
		return SnapshotModeFull, nil
	case SnapshotModeIncremental:
		return m, nil
	default:
		return "", status.Errorf(codes.InvalidArgument, "CreateSnapshot: parameter %s is %q; allowed values are %q (the default) and %q",
			SnapshotModeParameter, m, SnapshotModeFull, SnapshotModeIncremental)
	}
}

// fillSnapshot fills the data directory of the new snapshot id from the source volume and returns
// the snapshot's metadata but for its name and never-ready flag. Call it with id's lock held.
func (d *driver) fillSnapshot(ctx context.Context, id, source, mode string) (snapshot, error) {
	snap := snapshot{SourceVolume: source, Mode: mode}
	base := ""
	if mode == SnapshotModeIncremental {
		parent, unlock, err := d.store.lockNewestSnapshot(ctx, source)
		if err != nil {
			return snapshot{}, internal("find parent snapshot", err)
		}
		defer unlock()
		if parent != "" {
			snap.Parent, base = parent, d.store.dataPath(snapshotsDir, parent)
		}
	}
	size, err := d.store.populate(ctx, snapshotsDir, id, d.store.dataPath(volumesDir, source), base)
	if err != nil {
		return snapshot{}, internal("create snapshot", err)
	}
	// SizeBytes is the restore size, shared files included; CSI reads 0 as unknown.
	snap.SizeBytes, snap.UniqueBytes = max(size.total, 1), size.copied
	snap.CreatedAt = time.Now().UTC()
	return snap, nil
}

func csiSnapshot(id string, s snapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     id,
		SourceVolumeId: s.SourceVolume,
		CreationTime:   timestamppb.New(s.CreatedAt),
		SizeBytes:      s.SizeBytes,
		ReadyToUse:     !s.NeverReady,
	}
}

func (d *driver) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	id := req.GetSnapshotId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "DeleteSnapshot: snapshot_id is required")
	}
	if !validID(snapshotsDir, id) {
		return &csi.DeleteSnapshotResponse{}, nil
	}
	unlock, err := d.store.lock(ctx, id)
	if err != nil {
		return nil, internal("lock snapshot", err)
	}
	defer unlock()
	existed, err := d.store.remove(snapshotsDir, id)
	if err != nil {
		return nil, internal("delete snapshot", err)
	}
	if existed {
		d.log.Info("snapshot deleted", "snapshot", id)
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// ListSnapshots lists snapshots ordered by ID. Its paging token is the index of the next entry.
func (d *driver) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	if req.GetMaxEntries() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "ListSnapshots: max_entries must not be negative, got %d", req.GetMaxEntries())
	}
	start := 0
	if tok := req.GetStartingToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			return nil, status.Errorf(codes.Aborted, "ListSnapshots: starting_token %q is not a valid index", tok)
		}
		start = n
	}
	all, err := d.store.listSnapshots()
	if err != nil {
		return nil, internal("list snapshots", err)
	}
	var entries []*csi.ListSnapshotsResponse_Entry
	for _, s := range all {
		if (req.GetSnapshotId() == "" || s.id == req.GetSnapshotId()) &&
			(req.GetSourceVolumeId() == "" || s.SourceVolume == req.GetSourceVolumeId()) {
			entries = append(entries, &csi.ListSnapshotsResponse_Entry{Snapshot: csiSnapshot(s.id, s.snapshot)})
		}
	}
	if start > len(entries) {
		return nil, status.Errorf(codes.Aborted, "ListSnapshots: starting_token %q is past the last of %d snapshots", req.GetStartingToken(), len(entries))
	}
	end, next := len(entries), ""
	if m := int(req.GetMaxEntries()); m > 0 && start+m < end {
		end, next = start+m, strconv.Itoa(start+m)
	}
	return &csi.ListSnapshotsResponse{Entries: entries[start:end], NextToken: next}, nil
}
