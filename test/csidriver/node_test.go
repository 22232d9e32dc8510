package csidriver

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
)

func TestNodePublish(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	vol := createVolume(t, d, "pvc-1")
	pods := t.TempDir()
	target := filepath.Join(pods, "pod-a", "volumes", "mount")
	roTarget := filepath.Join(pods, "pod-b", "volumes", "mount")
	publish := func(target string, readonly bool) error {
		_, err := d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{
			VolumeId: vol, TargetPath: target, VolumeCapability: mountCap(), Readonly: readonly,
		})
		return err
	}
	unpublish := func(target string) error {
		_, err := d.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: vol, TargetPath: target})
		return err
	}
	t.Cleanup(func() { // should the test fail half-way
		_ = unix.Unmount(target, unix.MNT_DETACH)
		_ = unix.Unmount(roTarget, unix.MNT_DETACH)
	})

	for range 2 { // the second call finds the target mounted
		if err := publish(target, false); err != nil {
			t.Fatalf("NodePublishVolume: %v", err)
		}
	}
	writeFile(t, filepath.Join(target, "through-mount"), "hello", 0o644)
	if got := readFile(t, filepath.Join(VolumeDataDir(d.state, vol), "through-mount")); got != "hello" {
		t.Errorf("file written through the target has %q in the volume, want %q", got, "hello")
	}

	if err := publish(roTarget, true); err != nil {
		t.Fatalf("read-only NodePublishVolume: %v", err)
	}
	if got := readFile(t, filepath.Join(roTarget, "through-mount")); got != "hello" {
		t.Errorf("read-only target shows %q, want %q", got, "hello")
	}
	if err := os.WriteFile(filepath.Join(roTarget, "nope"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("writing through the read-only target: got %v, want EROFS", err)
	}

	for _, tg := range []string{target, roTarget} {
		for range 2 { // the second call finds nothing to do
			if err := unpublish(tg); err != nil {
				t.Errorf("NodeUnpublishVolume(%s): %v", tg, err)
			}
		}
		wantMissing(t, tg)
	}
	if got := readFile(t, filepath.Join(VolumeDataDir(d.state, vol), "through-mount")); got != "hello" {
		t.Errorf("after unpublishing, the volume has %q, want %q", got, "hello")
	}

	_, err := d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{
		VolumeId: volumeID("missing"), TargetPath: target, VolumeCapability: mountCap(),
	})
	wantCode(t, err, codes.NotFound, volumeID("missing"))
	_, err = d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: vol, TargetPath: target, VolumeCapability: blockCap()})
	wantCode(t, err, codes.InvalidArgument, "block")
	wantMissing(t, target)
}

func TestIsMountPoint(t *testing.T) {
	dir := t.TempDir()
	if mounted, err := isMountPoint(dir); err != nil || mounted {
		t.Errorf("isMountPoint(%s) = %v, %v; want false", dir, mounted, err)
	}
	if mounted, err := isMountPoint("/proc"); err != nil || !mounted {
		t.Errorf("isMountPoint(/proc) = %v, %v; want true", mounted, err)
	}
	if _, err := isMountPoint(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("isMountPoint(missing) error = %v, want one matching os.ErrNotExist", err)
	}
}

// TestNodePublishReadOnly publishes a claim restored from a snapshot as ReadOnlyMany, which the
// kubelet publishes with readonly set: the bind mount is read-only, the volume itself is not.
func TestNodePublishReadOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	src := createVolume(t, d, "pvc-src")
	writeFile(t, filepath.Join(VolumeDataDir(d.state, src), "f"), "data", 0o644)
	snap := createSnapshot(t, d, "snap", src, nil).GetSnapshotId()
	roCap := readerCap(csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY)
	resp, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name: "pvc-rox", VolumeCapabilities: []*csi.VolumeCapability{roCap}, VolumeContentSource: snapshotSource(snap),
	})
	if err != nil {
		t.Fatal(err)
	}
	vol := resp.GetVolume().GetVolumeId()
	target := filepath.Join(t.TempDir(), "pod", "volumes", "mount")
	t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) }) // should the test fail half-way

	for range 2 { // the second call finds the target mounted
		_, err := d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{
			VolumeId: vol, TargetPath: target, VolumeCapability: roCap, Readonly: true,
		})
		if err != nil {
			t.Fatalf("NodePublishVolume: %v", err)
		}
	}
	if !readOnlyMount(t, target) {
		t.Errorf("%s is not mounted read-only", target)
	}
	if got := readFile(t, filepath.Join(target, "f")); got != "data" {
		t.Errorf("read-only target shows %q, want %q", got, "data")
	}
	if err := os.WriteFile(filepath.Join(target, "f"), []byte("changed"), 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("writing through the read-only target: got %v, want EROFS", err)
	}
	data := VolumeDataDir(d.state, vol)
	if readOnlyMount(t, data) {
		t.Errorf("publishing read-only made the volume's data directory %s read-only", data)
	}
	writeFile(t, filepath.Join(data, "g"), "driver side", 0o644)

	if _, err := d.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: vol, TargetPath: target}); err != nil {
		t.Fatalf("NodeUnpublishVolume: %v", err)
	}
	wantMissing(t, target)
}

func readOnlyMount(t *testing.T, path string) bool {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		t.Fatalf("statfs %s: %v", path, err)
	}
	return st.Flags&unix.ST_RDONLY != 0
}
