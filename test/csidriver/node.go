package csidriver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func (d *driver) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: d.nodeID}, nil
}

// NodeGetCapabilities reports none: without STAGE_UNSTAGE_VOLUME the kubelet only publishes.
func (d *driver) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}

// NodePublishVolume bind-mounts the volume's data directory onto the target path.
func (d *driver) NodePublishVolume(_ context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	switch {
	case id == "":
		return nil, status.Error(codes.InvalidArgument, "NodePublishVolume: volume_id is required")
	case target == "":
		return nil, status.Error(codes.InvalidArgument, "NodePublishVolume: target_path is required")
	case req.GetVolumeCapability() == nil:
		return nil, status.Error(codes.InvalidArgument, "NodePublishVolume: volume_capability is required")
	}
	access, err := accessTypeOf([]*csi.VolumeCapability{req.GetVolumeCapability()})
	if err != nil {
		return nil, err
	}
	v, err := d.readVolume(id)
	if err != nil {
		return nil, err
	}
	if access != v.AccessType {
		return nil, status.Errorf(codes.InvalidArgument, "NodePublishVolume: volume %s is a %s volume and cannot be published for %s access",
			id, accessName(v.AccessType), accessName(access))
	}
	if access == accessBlock {
		return d.publishBlock(id, target, req.GetReadonly())
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, internal("create target path", err)
	}
	mounted, err := isMountPoint(target)
	if err != nil {
		return nil, internal("check target path", err)
	}
	if mounted {
		return &csi.NodePublishVolumeResponse{}, nil
	}
	if err := bindMount(d.store.dataPath(volumesDir, id), target, req.GetReadonly()); err != nil {
		return nil, internal("publish volume", err)
	}
	d.log.Info("volume published", "volume", id, "target", target, "readonly", req.GetReadonly())
	return &csi.NodePublishVolumeResponse{}, nil
}

// NodeUnpublishVolume unmounts the target path if it is mounted and removes it.
func (d *driver) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	switch {
	case id == "":
		return nil, status.Error(codes.InvalidArgument, "NodeUnpublishVolume: volume_id is required")
	case target == "":
		return nil, status.Error(codes.InvalidArgument, "NodeUnpublishVolume: target_path is required")
	}
	mounted, err := isMountPoint(target)
	if errors.Is(err, fs.ErrNotExist) {
		return &csi.NodeUnpublishVolumeResponse{}, nil
	}
	if err != nil {
		return nil, internal("check target path", err)
	}
	if mounted {
		loop, err := d.publishedLoop(target)
		if err != nil {
			return nil, internal("unpublish volume", err)
		}
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			return nil, internal("unpublish volume", &fs.PathError{Op: "unmount", Path: target, Err: err})
		}
		if loop != "" {
			if err := detachLoop(loop); err != nil {
				return nil, internal("unpublish volume", err)
			}
		}
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, internal("remove target path", err)
	}
	d.log.Info("volume unpublished", "volume", id, "target", target)
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// bindMount bind-mounts source onto target, read-only if asked.
func bindMount(source, target string, readonly bool) error {
	if err := unix.Mount(source, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mount %s on %s: %w", source, target, err)
	}
	if !readonly {
		return nil
	}
	if err := unix.Mount(source, target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		_ = unix.Unmount(target, unix.MNT_DETACH)
		return fmt.Errorf("remount %s read-only: %w", target, err)
	}
	return nil
}

// isMountPoint reports whether path is the root of a mount (Linux 5.8+ reports this in statx).
func isMountPoint(path string) (bool, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_TYPE, &st); err != nil {
		return false, &fs.PathError{Op: "statx", Path: path, Err: err}
	}
	if st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return false, fmt.Errorf("statx %s: the kernel does not report STATX_ATTR_MOUNT_ROOT (needs Linux 5.8 or later)", path)
	}
	return st.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
}
