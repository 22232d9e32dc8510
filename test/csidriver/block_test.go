package csidriver

import (
	"bytes"
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
	f, err := os.OpenFile(blockImage(d, src), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("block data"), 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if again := createBlockVolume(t, d, "blk", 8<<20, nil); again != src {
		t.Errorf("CreateVolume is not idempotent: %s then %s", src, again)
	}
	_, err = d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "blk", VolumeCapabilities: []*csi.VolumeCapability{mountCap()},
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
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	vol := createBlockVolume(t, d, "blk", 4<<20, nil)
	dir := t.TempDir()
	publish := func(target string, readonly bool) error {
		_, err := d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: vol, TargetPath: target, VolumeCapability: blockCap(), Readonly: readonly})
		return err
	}
	unpublish := func(target string) {
		t.Helper()
		for range 2 { // the second call finds nothing to do
			if _, err := d.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: vol, TargetPath: target}); err != nil {
				t.Errorf("NodeUnpublishVolume(%s): %v", target, err)
			}
		}
		wantMissing(t, target)
	}

	rw := filepath.Join(dir, "rw")
	for range 2 { // the second call finds it published
		if err := publish(rw, false); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = unix.Unmount(rw, unix.MNT_DETACH) })
	var st unix.Stat_t
	if err := unix.Stat(rw, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK || unix.Major(st.Rdev) != loopMajor {
		t.Fatalf("target %+v %v: want a loop device", st, err)
	}
	f, err := os.OpenFile(rw, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("through the device"), 4096); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	ro := filepath.Join(dir, "ro")
	if err := publish(ro, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(ro, unix.MNT_DETACH) })
	if err := writeDevice(ro); !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EPERM) {
		t.Errorf("writing to the read-only device: %v, want a refusal", err)
	}
	unpublish(ro)
	unpublish(rw)

	got, err := os.ReadFile(blockImage(d, vol))
	if err != nil || string(got[4096:4096+18]) != "through the device" {
		t.Errorf("the image after unpublishing: %v", err)
	}
	out, err := exec.Command("losetup", "--associated", blockImage(d, vol)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("loop devices left on the image: %q %v", out, err)
	}
	err = publish(filepath.Join(dir, "mount"), false)
	_, err2 := d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: vol, TargetPath: filepath.Join(dir, "mount"), VolumeCapability: mountCap()})
	if err != nil {
		t.Fatal(err)
	}
	unpublish(filepath.Join(dir, "mount"))
	wantCode(t, err2, codes.InvalidArgument, "block volume")
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
