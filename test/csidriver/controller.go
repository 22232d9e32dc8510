package csidriver

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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
	access, err := accessTypeOf(req.GetVolumeCapabilities())
	if err != nil {
		return nil, err
	}
	capacity, err := capacityOf(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	want := volume{
		Name:           req.GetName(),
		CapacityBytes:  capacity,
		AccessType:     access,
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
			got.SourceSnapshot != want.SourceSnapshot || got.SourceVolume != want.SourceVolume || got.AccessType != want.AccessType {
			return nil, status.Errorf(codes.AlreadyExists,
				"volume %q already exists as %s with capacity %d and a different capacity range, content source or access type", want.Name, id, got.CapacityBytes)
		}
		return &csi.CreateVolumeResponse{Volume: csiVolume(id, got)}, nil
	}

	src, err := d.contentSourceDir(want)
	if err != nil {
		return nil, err
	}
	if err := sameAccessType(src, want.AccessType); err != nil {
		return nil, err
	}
	// No base: a volume shares no file with its source, so that its writes never reach a snapshot.
	if _, err := d.store.populate(ctx, volumesDir, id, src, ""); err != nil {
		return nil, internal("create volume", err)
	}
	if want.AccessType == accessBlock {
		// The volume exists once its metadata is written, below: until then the image may change.
		if err := sizeImage(filepath.Join(d.store.dataPath(volumesDir, id), BlockImageName), capacity); err != nil {
			return nil, internal("create volume", err)
		}
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

// accessTypeOf returns the access type the capabilities ask for, in any access mode (a claim
// restored from a snapshot as ReadOnlyMany asks for MULTI_NODE_READER_ONLY): accessBlock, or ""
// for mount. They must all ask for the same one.
func accessTypeOf(caps []*csi.VolumeCapability) (string, error) {
	if len(caps) == 0 {
		return "", status.Error(codes.InvalidArgument, "volume_capabilities is required")
	}
	var types []string
	for _, c := range caps {
		switch {
		case c.GetBlock() != nil:
			types = append(types, accessBlock)
		case c.GetMount() != nil:
			types = append(types, "")
		default:
			return "", status.Error(codes.InvalidArgument, "volume_capability.access_type is required: mount or block")
		}
		if types[len(types)-1] != types[0] {
			return "", status.Error(codes.InvalidArgument, "volume_capabilities mix block and mount access types: ask for one")
		}
	}
	return types[0], nil
}

// accessName is an access type as messages say it.
func accessName(access string) string {
	if access == accessBlock {
		return "block"
	}
	return "mount"
}

// sameAccessType checks that a content source's data directory (none: "") suits a new volume
// of the given access type: a block volume is made from a block one, a mount one from a mount one.
func sameAccessType(src, access string) error {
	if src == "" {
		return nil
	}
	_, err := os.Stat(filepath.Join(src, BlockImageName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return internal("read content source", err)
	}
	have := ""
	if err == nil {
		have = accessBlock
	}
	if have != access {
		return status.Errorf(codes.InvalidArgument, "the content source is a %s volume's data and the new volume asks for %s access: use the same access type (volumeMode)",
			accessName(have), accessName(access))
	}
	return nil
}

// sizeImage makes the block image at path size bytes, creating it sparse, growing (never
// shrinking) an image copied from a source.
func sizeImage(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() < size {
		err = f.Truncate(size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
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
	v, err := d.readVolume(id)
	if err != nil {
		return nil, err
	}
	access, err := accessTypeOf(req.GetVolumeCapabilities())
	if err == nil && access != v.AccessType {
		err = status.Errorf(codes.InvalidArgument, "volume %s is a %s volume, not a %s one", id, accessName(v.AccessType), accessName(access))
	}
	if err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: status.Convert(err).Message()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

// readVolume returns the volume's metadata, or a NotFound status error.
func (d *driver) readVolume(id string) (volume, error) {
	var v volume
	found := false
	var err error
	if validID(volumesDir, id) {
		found, err = d.store.readMeta(volumesDir, id, &v)
	}
	if err != nil {
		return volume{}, internal("read volume", err)
	}
	if !found {
		return volume{}, status.Errorf(codes.NotFound, "volume %q not found", id)
	}
	return v, nil
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
