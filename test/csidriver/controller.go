package csidriver

import (
	"context"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const defaultCapacity = 1 << 30

func (d *driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{
			Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: t}},
		})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

func (d *driver) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "CreateVolume: name is required")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	capacity, err := capacityOf(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	want := volume{
		Name:           req.GetName(),
		CapacityBytes:  capacity,
		SourceSnapshot: req.GetVolumeContentSource().GetSnapshot().GetSnapshotId(),
		SourceVolume:   req.GetVolumeContentSource().GetVolume().GetVolumeId(),
		CreatedAt:      time.Now().UTC(),
	}
	id := volumeID(want.Name)
	unlock, err := d.store.lock(ctx, id)
	if err != nil {
		return nil, internal("lock volume", err)
	}
	defer unlock()

	var got volume
	found, err := d.store.readMeta(volumesDir, id, &got)
	if err != nil {
		return nil, internal("read volume", err)
	}
	if found {
		r := req.GetCapacityRange()
		if got.CapacityBytes < r.GetRequiredBytes() || (r.GetLimitBytes() > 0 && got.CapacityBytes > r.GetLimitBytes()) ||
			got.SourceSnapshot != want.SourceSnapshot || got.SourceVolume != want.SourceVolume {
			return nil, status.Errorf(codes.AlreadyExists,
				"volume %q already exists as %s with capacity %d and a different capacity range or content source", want.Name, id, got.CapacityBytes)
		}
		return &csi.CreateVolumeResponse{Volume: csiVolume(id, got)}, nil
	}

	src, err := d.contentSourceDir(want)
	if err != nil {
		return nil, err
	}
	// No base: a volume shares no file with its source, so that its writes never reach a snapshot.
	if _, err := d.store.populate(ctx, volumesDir, id, src, ""); err != nil {
		return nil, internal("create volume", err)
	}
	if err := d.store.writeMeta(volumesDir, id, want); err != nil {
		return nil, internal("create volume", err)
	}
	d.log.Info("volume created", "volume", id, "name", want.Name, "snapshot", want.SourceSnapshot, "sourceVolume", want.SourceVolume)
	return &csi.CreateVolumeResponse{Volume: csiVolume(id, want)}, nil
}

// contentSourceDir returns the data directory a new volume is copied from, or "" for an empty one.
func (d *driver) contentSourceDir(v volume) (string, error) {
	kind, id := snapshotsDir, v.SourceSnapshot
	if v.SourceVolume != "" {
		kind, id = volumesDir, v.SourceVolume
	}
	if id == "" {
		return "", nil
	}
	found, err := d.store.exists(kind, id)
	if err != nil {
		return "", internal("read content source", err)
	}
	if !found {
		return "", status.Errorf(codes.NotFound, "content source %s %q not found", kind[:len(kind)-1], id)
	}
	return d.store.dataPath(kind, id), nil
}

func csiVolume(id string, v volume) *csi.Volume {
	out := &csi.Volume{VolumeId: id, CapacityBytes: v.CapacityBytes}
	switch {
	case v.SourceSnapshot != "":
		out.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: v.SourceSnapshot},
		}}
	case v.SourceVolume != "":
		out.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: v.SourceVolume},
		}}
	}
	return out
}

func capacityOf(r *csi.CapacityRange) (int64, error) {
	required, limit := r.GetRequiredBytes(), r.GetLimitBytes()
	switch {
	case required < 0 || limit < 0:
		return 0, status.Error(codes.InvalidArgument, "capacity_range: required_bytes and limit_bytes must not be negative")
	case limit > 0 && required > limit:
		return 0, status.Errorf(codes.OutOfRange, "capacity_range: required_bytes %d exceeds limit_bytes %d", required, limit)
	case required > 0:
		return required, nil
	case limit > 0:
		return limit, nil
	default:
		return defaultCapacity, nil
	}
}

// checkCapabilities accepts mount access only, in any access mode: a claim restored from a
// snapshot as ReadOnlyMany asks for MULTI_NODE_READER_ONLY.
func checkCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return status.Error(codes.InvalidArgument, "volume_capabilities is required")
	}
	for _, c := range caps {
		if c.GetBlock() != nil {
			return status.Error(codes.InvalidArgument, "volume_capability: block access type is not supported, only mount (filesystem) volumes")
		}
		if c.GetMount() == nil {
			return status.Error(codes.InvalidArgument, "volume_capability.access_type is required and must be mount")
		}
	}
	return nil
}

func (d *driver) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "DeleteVolume: volume_id is required")
	}
	if !validID(volumesDir, id) {
		return &csi.DeleteVolumeResponse{}, nil
	}
	unlock, err := d.store.lock(ctx, id)
	if err != nil {
		return nil, internal("lock volume", err)
	}
	defer unlock()
	existed, err := d.store.remove(volumesDir, id)
	if err != nil {
		return nil, internal("delete volume", err)
	}
	if existed {
		d.log.Info("volume deleted", "volume", id)
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (d *driver) ValidateVolumeCapabilities(_ context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "ValidateVolumeCapabilities: volume_id is required")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "ValidateVolumeCapabilities: volume_capabilities is required")
	}
	if err := d.requireVolume(id); err != nil {
		return nil, err
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

// requireVolume returns a NotFound status error unless the volume exists.
func (d *driver) requireVolume(id string) error {
	found, err := d.store.exists(volumesDir, id)
	if err != nil {
		return internal("read volume", err)
	}
	if !found {
		return status.Errorf(codes.NotFound, "volume %q not found", id)
	}
	return nil
}

// internal turns an unexpected failure into an Internal status error.
func internal(what string, err error) error {
	return status.Errorf(codes.Internal, "%s: %v", what, err)
}
