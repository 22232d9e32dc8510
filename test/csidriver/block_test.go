package csidriver

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
)

func createBlockVolume(t *testing.T, d *testDriver, name string, size int64, source *csi.VolumeContentSource) string {
	t.Helper()
	resp, err := d.ctrl.CreateVolume(t.Context(), &csi.CreateVolumeRequest{Name: name, VolumeCapabilities: []*csi.VolumeCapability{blockCap()},
		CapacityRange: &csi.CapacityRange{RequiredBytes: size}, VolumeContentSource: source})
	if err != nil {
		t.Fatalf("CreateVolume %s (block): %v", name, err)
	}
	return resp.GetVolume().GetVolumeId()
}

func blockImage(d *testDriver, vol string) string {
	return filepath.Join(VolumeDataDir(d.state, vol), BlockImageName)
}

// TestBlockVolumes: a block volume is a sparse image of its capacity; a snapshot of it makes a
// block volume with the same bytes (grown to a larger capacity); access types never mix.
func TestBlockVolumes(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	src := createBlockVolume(t, d, "blk", 8<<20, nil)
	var st unix.Stat_t
	if err := unix.Stat(blockImage(d, src), &st); err != nil || st.Size != 8<<20 || st.Blocks*512 >= 8<<20 {
		t.Fatalf("image: %+v %v; want a sparse file of 8 MiB", st, err)
	}
	if st.Mode&0o7777 != 0o600 {
		t.Errorf("image mode %o, want 600", st.Mode&0o7777)
	}
	if entries, err := os.ReadDir(VolumeDataDir(d.state, src)); err != nil || len(entries) != 1 {
		t.Errorf("data directory holds %v, %v; want %s alone", entries, err, BlockImageName)
	}
	writeAt(t, blockImage(d, src), "block data", 1<<20)
	if again := createBlockVolume(t, d, "blk", 8<<20, nil); again != src {
		t.Errorf("CreateVolume is not idempotent: %s then %s", src, again)
	}
	_, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "blk", VolumeCapabilities: []*csi.VolumeCapability{mountCap()},
		CapacityRange: &csi.CapacityRange{RequiredBytes: 8 << 20}})
	wantCode(t, err, codes.AlreadyExists, "access type")

	snap := createSnapshot(t, d, "blk-snap", src, nil).GetSnapshotId()
	restored := createBlockVolume(t, d, "blk-restored", 16<<20, snapshotSource(snap))
	got, err := os.ReadFile(blockImage(d, restored))
	if err != nil || len(got) != 16<<20 || string(got[1<<20:1<<20+10]) != "block data" || bytes.Count(got, []byte{0}) != 16<<20-10 {
		t.Fatalf("restored image: %d bytes, %v", len(got), err)
	}
	if err := unix.Stat(blockImage(d, restored), &st); err != nil || st.Blocks*512 >= 8<<20 {
		t.Errorf("the restored image is not sparse: %d blocks, %v", st.Blocks, err)
	}
	_, err = d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "fs-from-blk", VolumeCapabilities: []*csi.VolumeCapability{mountCap()},
		VolumeContentSource: snapshotSource(snap)})
	wantCode(t, err, codes.InvalidArgument, "block volume's data")

	fsVol := createVolume(t, d, "fs")
	fsSnap := createSnapshot(t, d, "fs-snap", fsVol, nil).GetSnapshotId()
	_, err = d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "blk-from-fs", VolumeCapabilities: []*csi.VolumeCapability{blockCap()},
		VolumeContentSource: snapshotSource(fsSnap)})
	wantCode(t, err, codes.InvalidArgument, "mount volume's data")
	wantMissing(t, VolumeDataDir(d.state, volumeID("blk-from-fs")))

	for _, c := range []struct {
		vol  string
		cap  *csi.VolumeCapability
		want bool
	}{{src, blockCap(), true}, {src, mountCap(), false}, {fsVol, mountCap(), true}, {fsVol, blockCap(), false}} {
		valid, err := d.ctrl.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: c.vol, VolumeCapabilities: []*csi.VolumeCapability{c.cap}})
		if err != nil || (valid.GetConfirmed() != nil) != c.want || (!c.want && valid.GetMessage() == "") {
			t.Errorf("ValidateVolumeCapabilities(%s, %v) = %v, %v; want confirmed %v", c.vol, c.cap.GetAccessType(), valid, err, c.want)
		}
	}
}

// TestNodePublishBlock publishes a block volume: the target is a loop device over the image,
// read-only when asked; unpublishing frees the device and removes the target.
func TestNodePublishBlock(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loop devices and bind mounts need root")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("no /dev/loop-control")
	}
	// A relative state directory reached through a symlink: the kernel names the backing file by
	// its absolute real path, which unpublishing must still recognise as the driver's.
	dir := t.TempDir()
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	d := startDriver(t, filepath.Join("link", "state"), "")
	ctx := t.Context()
	vol := createBlockVolume(t, d, "blk", 4<<20, nil)
	image, err := filepath.Abs(blockImage(d, vol))
	if err != nil {
		t.Fatal(err)
	}
	const inImage, viaDevice = "written into the image", "through the device"
	writeAt(t, image, inImage, 8192)
	publish := func(target string, readonly bool) error {
		_, err := d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: vol, TargetPath: target, VolumeCapability: blockCap(), Readonly: readonly})
		return err
	}
	unpublish := func(ctx context.Context, target string) error {
		_, err := d.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: vol, TargetPath: target})
		return err
	}
	rw, ro := filepath.Join(dir, "rw"), filepath.Join(dir, "ro")
	t.Cleanup(func() { // should the test fail half-way; t.Context() is done by now
		for _, target := range []string{rw, ro} {
			_ = unpublish(context.Background(), target)
		}
	})

	for range 2 { // the second call finds it published
		if err := publish(rw, false); err != nil {
			t.Fatal(err)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(rw, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK || unix.Major(st.Rdev) != loopMajor {
		t.Fatalf("target %+v %v: want a loop device", st, err)
	}
	if got := readAt(t, rw, 8192, len(inImage)); got != inImage {
		t.Errorf("the device reads %q where the image has %q", got, inImage)
	}
	writeAt(t, rw, viaDevice, 4096)

	if err := publish(ro, true); err != nil {
		t.Fatal(err)
	}
	if got := readAt(t, ro, 4096, len(viaDevice)); got != viaDevice {
		t.Errorf("the read-only device reads %q, want %q", got, viaDevice)
	}
	if err := writeDevice(ro); !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EPERM) {
		t.Errorf("writing to the read-only device: %v, want a refusal", err)
	}
	for _, target := range []string{ro, rw} {
		for range 2 { // the second call finds nothing to do
			if err := unpublish(ctx, target); err != nil {
				t.Errorf("NodeUnpublishVolume(%s): %v", target, err)
			}
		}
		wantMissing(t, target)
	}

	if got := readAt(t, image, 4096, len(viaDevice)); got != viaDevice {
		t.Errorf("the image after unpublishing has %q, want %q", got, viaDevice)
	}
	out, err := exec.Command("losetup", "--associated", image).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("loop devices left on the image: %q %v", out, err)
	}
	mount := filepath.Join(dir, "mount")
	_, err = d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: vol, TargetPath: mount, VolumeCapability: mountCap()})
	wantCode(t, err, codes.InvalidArgument, "block volume")
	wantMissing(t, mount)
}

// writeAt writes s at offset off of the file or device at path, and syncs it.
func writeAt(t *testing.T, path, s string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(s), off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// readAt reads n bytes at offset off of the file or device at path.
func readAt(t *testing.T, path string, off int64, n int) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeDevice opens the device for writing, writes and syncs a block, and closes it.
func writeDevice(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, 4096), 0); err != nil {
		return err
	}
	return f.Sync()
}
