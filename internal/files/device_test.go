package files

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// loopDevice attaches a loop device to a new image of size bytes holding data, and detaches it
// at the end of the test.
func loopDevice(t *testing.T, size int64, data []byte) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("no /dev/loop-control")
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "--detach", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v: %s", dev, err, out)
		}
	})
	return dev
}

func readDevice(t *testing.T, dev string, n int) []byte {
	t.Helper()
	b, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}

// TestBlockDeviceBackupAndRestore backs up a block device whole, restores its image onto a
// second device and into a directory, refuses a device too small, and shares the unchanged
// chunks with the parent after a small change.
func TestBlockDeviceBackupAndRestore(t *testing.T) {
	const size = 8 << 20
	data := make([]byte, 6<<20) // the rest stays zero
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.UintN(256))
	}
	src := loopDevice(t, size, data)
	s := newTestStore(t, nil)
	ctx := t.Context()

	snap, err := s.Backup(ctx, src, BackupOptions{Source: "c/ns/disk"})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Device || snap.Summary.Files != 1 || snap.Summary.Bytes != size || snap.Summary.ReadBytes != size {
		t.Fatalf("snapshot = device %v, summary %+v; want a device snapshot of one %d-byte file", snap.Device, snap.Summary, size)
	}

	dst := loopDevice(t, size, nil)
	sum, err := s.Restore(ctx, snap, "", dst, RestoreOptions{})
	if err != nil || sum.Errors != 0 || sum.Bytes != size {
		t.Fatalf("Restore onto %s = %+v, %v", dst, sum, err)
	}
	if got := readDevice(t, dst, size); !bytes.Equal(got[:len(data)], data) || bytes.Count(got[len(data):], []byte{0}) != size-len(data) {
		t.Error("the restored device differs from the backed-up one")
	}
	if fi, err := os.Stat(dst); err != nil || !isBlockDevice(fi) {
		t.Errorf("the restore changed the device node: %v, %v", fi, err)
	}

	dir := filepath.Join(t.TempDir(), "out")
	if _, err := s.Restore(ctx, snap, "", dir, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(filepath.Join(dir, filerepo.DeviceImage))
	if err != nil || len(img) != size || !bytes.Equal(img[:len(data)], data) {
		t.Errorf("the image restored into a directory: %d bytes, %v", len(img), err)
	}

	small := loopDevice(t, size/2, nil)
	if _, err := s.Restore(ctx, snap, "", small, RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "at least as large") {
		t.Errorf("Restore onto a smaller device: %v, want an error saying it must be at least as large", err)
	}

	copy(data[1<<20:], bytes.Repeat([]byte{7}, 64<<10))
	f, err := os.OpenFile(src, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data[1<<20:1<<20+64<<10], 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	next, err := s.Backup(ctx, src, BackupOptions{Source: "c/ns/disk"})
	if err != nil {
		t.Fatal(err)
	}
	if next.Parent != snap.ID || next.Summary.ReadBytes != size || next.Summary.NewRawBytes > 3<<20 {
		t.Errorf("second backup: parent %q (want %q), summary %+v; want the whole device read and under 3 MiB of its 8 new", next.Parent, snap.ID, next.Summary)
	}
}

// TestDirectorySnapshotRefusesADevice restores a directory's snapshot onto a block device.
func TestDirectorySnapshotRefusesADevice(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestStore(t, nil)
	snap, err := s.Backup(t.Context(), dir, BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dev := loopDevice(t, 1<<20, nil)
	if _, err := s.Restore(t.Context(), snap, "", dev, RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "not of a block device") {
		t.Errorf("Restore of a directory's snapshot onto a device: %v, want a refusal", err)
	}
}
