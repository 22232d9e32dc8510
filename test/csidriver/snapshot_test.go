package csidriver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
)

func TestIncrementalSnapshot(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	vol := createVolume(t, d, "pvc-src")
	data := VolumeDataDir(d.state, vol)
	put := func(rel, content string, mode os.FileMode, mtime time.Time) {
		t.Helper()
		writeFile(t, filepath.Join(data, rel), content, mode)
		setTime(t, filepath.Join(data, rel), mtime)
	}
	past := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	later := past.Add(time.Hour)
	if err := os.Mkdir(filepath.Join(data, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	put("same.txt", "unchanged", 0o644, past)
	put("sub/deep.txt", "deep", 0o600, past)
	put("rewritten.txt", "v1", 0o644, past)
	put("grown.txt", "short", 0o644, past)
	put("chmod.txt", "mode", 0o644, past)
	put("gone.txt", "bye", 0o644, past)
	if err := os.Symlink("same.txt", filepath.Join(data, "link")); err != nil {
		t.Fatal(err)
	}
	incremental := map[string]string{SnapshotModeParameter: SnapshotModeIncremental}

	first := createSnapshot(t, d, "snap-1", vol, incremental).GetSnapshotId()
	wantMeta(t, d.state, first, SnapshotModeIncremental, "", int64(len("unchanged"+"deep"+"v1"+"short"+"mode"+"bye")))
	other := createVolume(t, d, "pvc-other") // a newer snapshot of another volume is no parent
	writeFile(t, filepath.Join(VolumeDataDir(d.state, other), "same.txt"), "unchanged", 0o644)
	createSnapshot(t, d, "snap-other", other, incremental)

	put("rewritten.txt", "v2", 0o644, later) // same size, later mtime
	put("grown.txt", "longer", 0o644, past)  // same mtime, new size
	if err := os.Chmod(filepath.Join(data, "chmod.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(data, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	put("new.txt", "fresh", 0o644, later)
	total := int64(len("unchanged" + "deep" + "v2" + "longer" + "mode" + "fresh"))

	second := createSnapshot(t, d, "snap-2", vol, incremental)
	if second.GetSizeBytes() != total || !second.GetReadyToUse() {
		t.Errorf("incremental snapshot = %v, want ready with the full restore size %d", second, total)
	}
	wantMeta(t, d.state, second.GetSnapshotId(), SnapshotModeIncremental, first, int64(len("v2"+"longer"+"mode"+"fresh")))
	s1, s2 := snapshotData(d.state, first), snapshotData(d.state, second.GetSnapshotId())
	for rel, shared := range map[string]bool{
		"same.txt": true, "sub/deep.txt": true, "rewritten.txt": false, "grown.txt": false, "chmod.txt": false,
	} {
		wantShared(t, s1, s2, rel, shared)
	}
	wantContent := func(dir string) {
		t.Helper()
		for rel, want := range map[string]string{
			"same.txt": "unchanged", "sub/deep.txt": "deep", "rewritten.txt": "v2", "grown.txt": "longer", "chmod.txt": "mode", "new.txt": "fresh",
		} {
			if got := readFile(t, filepath.Join(dir, rel)); got != want {
				t.Errorf("%s/%s = %q, want %q", dir, rel, got, want)
			}
		}
		wantMissing(t, filepath.Join(dir, "gone.txt"))
		if link, err := os.Readlink(filepath.Join(dir, "link")); err != nil || link != "same.txt" {
			t.Errorf("%s/link = %q, %v; want a symlink to same.txt", dir, link, err)
		}
	}
	wantContent(s2)
	again := createSnapshot(t, d, "snap-2", vol, incremental)
	if !again.GetCreationTime().AsTime().Equal(second.GetCreationTime().AsTime()) {
		t.Errorf("repeated CreateSnapshot = %v, want %v", again, second)
	}

	full := createSnapshot(t, d, "snap-3", vol, map[string]string{SnapshotModeParameter: SnapshotModeFull}).GetSnapshotId()
	wantMeta(t, d.state, full, SnapshotModeFull, "", total)
	s3 := snapshotData(d.state, full)
	wantShared(t, s2, s3, "same.txt", false)
	fourth := createSnapshot(t, d, "snap-4", vol, incremental) // its parent is the newest, the full one
	wantMeta(t, d.state, fourth.GetSnapshotId(), SnapshotModeIncremental, full, 0)
	if fourth.GetSizeBytes() != total {
		t.Errorf("fully shared snapshot has size %d, want %d", fourth.GetSizeBytes(), total)
	}
	wantShared(t, s3, snapshotData(d.state, fourth.GetSnapshotId()), "same.txt", true)

	if _, err := d.ctrl.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: first}); err != nil {
		t.Fatal(err)
	}
	wantContent(s2) // deleting the parent leaves the child whole

	restored, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name: "pvc-restored", VolumeCapabilities: []*csi.VolumeCapability{mountCap()},
		VolumeContentSource: snapshotSource(second.GetSnapshotId()),
	})
	if err != nil {
		t.Fatal(err)
	}
	rdata := VolumeDataDir(d.state, restored.GetVolume().GetVolumeId())
	wantContent(rdata)
	wantShared(t, s2, rdata, "same.txt", false)
	writeFile(t, filepath.Join(rdata, "same.txt"), "overwritten", 0o600)
	writeFile(t, filepath.Join(rdata, "sub", "deep.txt"), "deeper", 0o644)
	wantContent(s2)
	if info, err := os.Stat(filepath.Join(s2, "same.txt")); err != nil || info.Mode() != 0o644 {
		t.Errorf("snapshot's same.txt after writing the restored volume: %v, %v; want mode 0644", info, err)
	}
}

func TestSnapshotModeParameter(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	vol := createVolume(t, d, "pvc-1")
	writeFile(t, filepath.Join(VolumeDataDir(d.state, vol), "f"), "data", 0o644)
	for _, mode := range []string{"differential", "Incremental", "full "} {
		_, err := d.ctrl.CreateSnapshot(t.Context(), &csi.CreateSnapshotRequest{
			Name: "bad", SourceVolumeId: vol, Parameters: map[string]string{SnapshotModeParameter: mode},
		})
		wantCode(t, err, codes.InvalidArgument, SnapshotModeParameter)
		wantCode(t, err, codes.InvalidArgument, `"full" (the default) and "incremental"`)
	}
	wantMissing(t, filepath.Join(d.state, snapshotsDir, snapshotID("bad")+".json"))
	wantMissing(t, snapshotData(d.state, snapshotID("bad")))

	for name, params := range map[string]map[string]string{
		"absent": nil, "empty": {SnapshotModeParameter: ""}, "full": {SnapshotModeParameter: SnapshotModeFull},
	} {
		s := createSnapshot(t, d, name, vol, params)
		wantMeta(t, d.state, s.GetSnapshotId(), SnapshotModeFull, "", int64(len("data")))
	}
}

// wantMeta checks the mode, parent and uniqueBytes keys of a snapshot's metadata file.
func wantMeta(t *testing.T, state, id, mode, parent string, uniqueBytes int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, snapshotsDir, id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	gotParent, _ := meta["parent"].(string)
	if meta["mode"] != mode || gotParent != parent || meta["uniqueBytes"] != float64(uniqueBytes) {
		t.Errorf("metadata of %s = %s; want mode %q, parent %q and uniqueBytes %d", id, b, mode, parent, uniqueBytes)
	}
}

// wantShared checks whether the files at rel in two data directories are one file (hard links).
func wantShared(t *testing.T, dirA, dirB, rel string, shared bool) {
	t.Helper()
	a, errA := os.Stat(filepath.Join(dirA, rel))
	b, errB := os.Stat(filepath.Join(dirB, rel))
	if errA != nil || errB != nil {
		t.Fatalf("stat %s: %v, %v", rel, errA, errB)
	}
	if os.SameFile(a, b) != shared {
		t.Errorf("%s in %s and %s: same file = %v, want %v", rel, dirA, dirB, !shared, shared)
	}
}

func snapshotData(state, id string) string { return filepath.Join(state, snapshotsDir, id) }

func snapshotSource(id string) *csi.VolumeContentSource {
	return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
		Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: id},
	}}
}

func setTime(t *testing.T, path string, mtime time.Time) {
	t.Helper()
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}
