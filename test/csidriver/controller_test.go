package csidriver

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
)

func TestIdentity(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	info, err := d.id.GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
	if err != nil || info.GetName() != DefaultDriverName || info.GetVendorVersion() == "" {
		t.Errorf("GetPluginInfo = %v, %v; want name %s and a vendor version", info, err, DefaultDriverName)
	}
	pcaps, err := d.id.GetPluginCapabilities(ctx, &csi.GetPluginCapabilitiesRequest{})
	if err != nil || len(pcaps.GetCapabilities()) != 1 ||
		pcaps.GetCapabilities()[0].GetService().GetType() != csi.PluginCapability_Service_CONTROLLER_SERVICE {
		t.Errorf("GetPluginCapabilities = %v, %v; want CONTROLLER_SERVICE", pcaps, err)
	}
	probe, err := d.id.Probe(ctx, &csi.ProbeRequest{})
	if err != nil || !probe.GetReady().GetValue() {
		t.Errorf("Probe = %v, %v; want ready", probe, err)
	}
	ccaps, err := d.ctrl.ControllerGetCapabilities(ctx, &csi.ControllerGetCapabilitiesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[csi.ControllerServiceCapability_RPC_Type]bool{}
	for _, c := range ccaps.GetCapabilities() {
		got[c.GetRpc().GetType()] = true
	}
	for _, want := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME, csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS, csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	} {
		if !got[want] || len(got) != 4 {
			t.Errorf("ControllerGetCapabilities = %v, want exactly the four supported, including %v", ccaps, want)
		}
	}
	ninfo, err := d.node.NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
	if err != nil || ninfo.GetNodeId() != testNode || ninfo.GetAccessibleTopology() != nil {
		t.Errorf("NodeGetInfo = %v, %v; want node ID %s and no topology", ninfo, err, testNode)
	}
	ncaps, err := d.node.NodeGetCapabilities(ctx, &csi.NodeGetCapabilitiesRequest{})
	if err != nil || len(ncaps.GetCapabilities()) != 0 {
		t.Errorf("NodeGetCapabilities = %v, %v; want none", ncaps, err)
	}
	_, err = d.ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{})
	wantCode(t, err, codes.Unimplemented, "")
	_, err = d.node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{})
	wantCode(t, err, codes.Unimplemented, "")
}

func TestCreateVolume(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	caps := []*csi.VolumeCapability{mountCap()}
	req := &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: caps, CapacityRange: &csi.CapacityRange{RequiredBytes: 2 << 30}}
	first, err := d.ctrl.CreateVolume(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	v := first.GetVolume()
	if v.GetVolumeId() != volumeID("pvc-1") || v.GetCapacityBytes() != 2<<30 || v.GetContentSource() != nil || v.GetAccessibleTopology() != nil {
		t.Errorf("CreateVolume = %v", v)
	}
	info, err := os.Stat(VolumeDataDir(d.state, v.GetVolumeId()))
	if err != nil || info.Mode().Perm() != 0o777 {
		t.Errorf("data directory: %v, %v; want mode 0777", info, err)
	}
	again, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "pvc-1", VolumeCapabilities: caps, CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 30}})
	if err != nil || again.GetVolume().GetVolumeId() != v.GetVolumeId() || again.GetVolume().GetCapacityBytes() != 2<<30 {
		t.Errorf("repeated CreateVolume = %v, %v; want the same volume", again, err)
	}
	for _, r := range []*csi.CreateVolumeRequest{
		{Name: "pvc-1", VolumeCapabilities: caps, CapacityRange: &csi.CapacityRange{RequiredBytes: 3 << 30}},
		{Name: "pvc-1", VolumeCapabilities: caps, CapacityRange: &csi.CapacityRange{LimitBytes: 1 << 30}},
		{Name: "pvc-1", VolumeCapabilities: caps, VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: v.GetVolumeId()},
		}}},
	} {
		_, err := d.ctrl.CreateVolume(ctx, r)
		wantCode(t, err, codes.AlreadyExists, "pvc-1")
	}

	for i, tc := range []struct {
		r    *csi.CapacityRange
		want int64
	}{{nil, 1 << 30}, {&csi.CapacityRange{LimitBytes: 5 << 20}, 5 << 20}, {&csi.CapacityRange{RequiredBytes: 7, LimitBytes: 9}, 7}} {
		resp, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: fmt.Sprint("cap-", i), VolumeCapabilities: caps, CapacityRange: tc.r})
		if err != nil || resp.GetVolume().GetCapacityBytes() != tc.want {
			t.Errorf("CreateVolume with range %v = %v, %v; want capacity %d", tc.r, resp, err, tc.want)
		}
	}
	_, err = d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "bad-range", VolumeCapabilities: caps, CapacityRange: &csi.CapacityRange{RequiredBytes: 9, LimitBytes: 7}})
	wantCode(t, err, codes.OutOfRange, "required_bytes")
	_, err = d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "mixed", VolumeCapabilities: []*csi.VolumeCapability{blockCap(), mountCap()}})
	wantCode(t, err, codes.InvalidArgument, "mix block and mount")
	wantMissing(t, VolumeDataDir(d.state, volumeID("mixed")))

	valid, err := d.ctrl.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: v.GetVolumeId(), VolumeCapabilities: caps})
	if err != nil || valid.GetConfirmed() == nil {
		t.Errorf("ValidateVolumeCapabilities(mount) = %v, %v; want confirmed", valid, err)
	}
	valid, err = d.ctrl.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: v.GetVolumeId(), VolumeCapabilities: []*csi.VolumeCapability{blockCap()}})
	if err != nil || valid.GetConfirmed() != nil || valid.GetMessage() == "" {
		t.Errorf("ValidateVolumeCapabilities(block) = %v, %v; want unconfirmed with a message", valid, err)
	}
	_, err = d.ctrl.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: volumeID("nope"), VolumeCapabilities: caps})
	wantCode(t, err, codes.NotFound, volumeID("nope"))
}

func TestRequiredFields(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	caps := []*csi.VolumeCapability{mountCap()}
	for _, tc := range []struct {
		call  func() error
		field string
	}{
		{func() error {
			_, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{VolumeCapabilities: caps})
			return err
		}, "name"},
		{func() error { _, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "n"}); return err }, "volume_capabilities"},
		{func() error {
			_, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "n", VolumeCapabilities: []*csi.VolumeCapability{{}}})
			return err
		}, "access_type"},
		{func() error { _, err := d.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{}); return err }, "volume_id"},
		{func() error {
			_, err := d.ctrl.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeCapabilities: caps})
			return err
		}, "volume_id"},
		{func() error {
			_, err := d.ctrl.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: "v"})
			return err
		}, "volume_capabilities"},
		{func() error {
			_, err := d.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{SourceVolumeId: "v"})
			return err
		}, "name"},
		{func() error { _, err := d.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "n"}); return err }, "source_volume_id"},
		{func() error { _, err := d.ctrl.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{}); return err }, "snapshot_id"},
		{func() error {
			_, err := d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{TargetPath: "/t", VolumeCapability: mountCap()})
			return err
		}, "volume_id"},
		{func() error {
			_, err := d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "v", VolumeCapability: mountCap()})
			return err
		}, "target_path"},
		{func() error {
			_, err := d.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "v", TargetPath: "/t"})
			return err
		}, "volume_capability"},
		{func() error {
			_, err := d.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{TargetPath: "/t"})
			return err
		}, "volume_id"},
		{func() error {
			_, err := d.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "v"})
			return err
		}, "target_path"},
	} {
		wantCode(t, tc.call(), codes.InvalidArgument, tc.field)
	}
}

func TestSnapshotRestoreAndClone(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	src := createVolume(t, d, "pvc-src")
	other := createVolume(t, d, "pvc-other")
	data := VolumeDataDir(d.state, src)
	writeFile(t, filepath.Join(data, "a.txt"), "old", 0o640)
	if err := os.Mkdir(filepath.Join(data, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(data, "sub", "b.txt"), "bee", 0o600)
	if err := os.Symlink("a.txt", filepath.Join(data, "link")); err != nil {
		t.Fatal(err)
	}

	snap := createSnapshot(t, d, "snapshot-1", src, nil)
	if snap.GetSnapshotId() != snapshotID("snapshot-1") || snap.GetSourceVolumeId() != src || !snap.GetReadyToUse() ||
		snap.GetSizeBytes() != int64(len("old")+len("bee")) || snap.GetCreationTime() == nil {
		t.Errorf("CreateSnapshot = %v", snap)
	}
	again := createSnapshot(t, d, "snapshot-1", src, nil)
	if again.GetSnapshotId() != snap.GetSnapshotId() || !again.GetCreationTime().AsTime().Equal(snap.GetCreationTime().AsTime()) {
		t.Errorf("repeated CreateSnapshot = %v, want %v", again, snap)
	}
	_, err := d.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snapshot-1", SourceVolumeId: other})
	wantCode(t, err, codes.AlreadyExists, "snapshot-1")
	for _, missing := range []string{volumeID("missing"), "../volumes"} {
		_, err = d.ctrl.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snapshot-2", SourceVolumeId: missing})
		wantCode(t, err, codes.NotFound, missing)
	}
	empty := createSnapshot(t, d, "snapshot-empty", other, nil)
	if empty.GetSizeBytes() != 1 {
		t.Errorf("snapshot of an empty volume has size %d, want 1", empty.GetSizeBytes())
	}

	writeFile(t, filepath.Join(data, "a.txt"), "new", 0o644)
	if err := os.Remove(filepath.Join(data, "sub", "b.txt")); err != nil {
		t.Fatal(err)
	}

	fromSnap := &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
		Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: snap.GetSnapshotId()},
	}}
	restored, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name: "pvc-restored", VolumeCapabilities: []*csi.VolumeCapability{mountCap()}, VolumeContentSource: fromSnap,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := restored.GetVolume().GetContentSource().GetSnapshot().GetSnapshotId(); got != snap.GetSnapshotId() {
		t.Errorf("restored volume's content source = %v, want snapshot %s", restored.GetVolume().GetContentSource(), snap.GetSnapshotId())
	}
	rdata := VolumeDataDir(d.state, restored.GetVolume().GetVolumeId())
	checkOldContent := func() {
		t.Helper()
		if got := readFile(t, filepath.Join(rdata, "a.txt")); got != "old" {
			t.Errorf("restored a.txt = %q, want the snapshot's %q", got, "old")
		}
		if got := readFile(t, filepath.Join(rdata, "sub", "b.txt")); got != "bee" {
			t.Errorf("restored sub/b.txt = %q, want %q", got, "bee")
		}
		for path, want := range map[string]os.FileMode{"a.txt": 0o640, "sub": 0o750 | os.ModeDir, "sub/b.txt": 0o600} {
			if info, err := os.Lstat(filepath.Join(rdata, path)); err != nil || info.Mode() != want {
				t.Errorf("restored %s: %v, %v; want mode %v", path, info, err, want)
			}
		}
		if link, err := os.Readlink(filepath.Join(rdata, "link")); err != nil || link != "a.txt" {
			t.Errorf("restored link = %q, %v; want a symlink to a.txt", link, err)
		}
	}
	checkOldContent()

	_, err = d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name: "pvc-nosnap", VolumeCapabilities: []*csi.VolumeCapability{mountCap()},
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: snapshotID("missing")},
		}},
	})
	wantCode(t, err, codes.NotFound, snapshotID("missing"))

	clone, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
		Name: "pvc-clone", VolumeCapabilities: []*csi.VolumeCapability{mountCap()},
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: src},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := clone.GetVolume().GetContentSource().GetVolume().GetVolumeId(); got != src {
		t.Errorf("clone's content source = %v, want volume %s", clone.GetVolume().GetContentSource(), src)
	}
	cdata := VolumeDataDir(d.state, clone.GetVolume().GetVolumeId())
	if got := readFile(t, filepath.Join(cdata, "a.txt")); got != "new" {
		t.Errorf("clone a.txt = %q, want the source's current %q", got, "new")
	}
	wantMissing(t, filepath.Join(cdata, "sub", "b.txt"))

	if _, err := d.ctrl.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: snap.GetSnapshotId()}); err != nil {
		t.Fatal(err)
	}
	checkOldContent() // a restored volume is independent of its snapshot
}

func TestListSnapshots(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	a, b := createVolume(t, d, "pvc-a"), createVolume(t, d, "pvc-b")
	ids := map[string]string{}
	for name, vol := range map[string]string{"s1": a, "s2": a, "s3": b} {
		ids[name] = createSnapshot(t, d, name, vol, nil).GetSnapshotId()
	}
	list := func(req *csi.ListSnapshotsRequest) ([]string, string) {
		t.Helper()
		resp, err := d.ctrl.ListSnapshots(ctx, req)
		if err != nil {
			t.Fatalf("ListSnapshots(%v): %v", req, err)
		}
		var out []string
		for _, e := range resp.GetEntries() {
			out = append(out, e.GetSnapshot().GetSnapshotId())
		}
		return out, resp.GetNextToken()
	}

	all, next := list(&csi.ListSnapshotsRequest{})
	if len(all) != 3 || next != "" || all[0] >= all[1] || all[1] >= all[2] {
		t.Errorf("ListSnapshots() = %v, %q; want the 3 snapshots ordered by ID", all, next)
	}
	if got, _ := list(&csi.ListSnapshotsRequest{SourceVolumeId: a}); len(got) != 2 {
		t.Errorf("ListSnapshots(source %s) = %v, want s1 and s2", a, got)
	}
	if got, _ := list(&csi.ListSnapshotsRequest{SnapshotId: ids["s3"]}); len(got) != 1 || got[0] != ids["s3"] {
		t.Errorf("ListSnapshots(id %s) = %v, want just it", ids["s3"], got)
	}
	for _, req := range []*csi.ListSnapshotsRequest{
		{SnapshotId: ids["s3"], SourceVolumeId: a}, {SnapshotId: snapshotID("unknown")}, {SnapshotId: "bogus"}, {SourceVolumeId: "bogus"},
	} {
		if got, _ := list(req); len(got) != 0 {
			t.Errorf("ListSnapshots(%v) = %v, want none", req, got)
		}
	}

	page1, next := list(&csi.ListSnapshotsRequest{MaxEntries: 2})
	if len(page1) != 2 || next != "2" {
		t.Fatalf("first page = %v, %q; want 2 entries and token 2", page1, next)
	}
	page2, next := list(&csi.ListSnapshotsRequest{MaxEntries: 2, StartingToken: next})
	if len(page2) != 1 || next != "" || page2[0] != all[2] {
		t.Errorf("second page = %v, %q; want [%s] and no token", page2, next, all[2])
	}
	for _, tok := range []string{"x", "-1", "4"} {
		_, err := d.ctrl.ListSnapshots(ctx, &csi.ListSnapshotsRequest{StartingToken: tok})
		wantCode(t, err, codes.Aborted, "starting_token")
	}
}

func TestNeverReadySnapshot(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	vol := createVolume(t, d, "pvc-1")
	params := map[string]string{NeverReadyParameter: "true"}
	for range 3 {
		if s := createSnapshot(t, d, "stuck", vol, params); s.GetReadyToUse() {
			t.Errorf("never-ready snapshot reported ready: %v", s)
		}
	}
	if s := createSnapshot(t, d, "stuck", vol, nil); s.GetReadyToUse() {
		t.Errorf("never-ready snapshot reported ready when asked again without the parameter: %v", s)
	}
	resp, err := d.ctrl.ListSnapshots(t.Context(), &csi.ListSnapshotsRequest{SnapshotId: snapshotID("stuck")})
	if err != nil || len(resp.GetEntries()) != 1 || resp.GetEntries()[0].GetSnapshot().GetReadyToUse() {
		t.Errorf("ListSnapshots = %v, %v; want the snapshot, not ready", resp, err)
	}
	if s := createSnapshot(t, d, "fine", vol, map[string]string{NeverReadyParameter: "false"}); !s.GetReadyToUse() {
		t.Errorf("ordinary snapshot not ready: %v", s)
	}
}

func TestDeleteIsIdempotent(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	vol := createVolume(t, d, "pvc-1")
	writeFile(t, filepath.Join(VolumeDataDir(d.state, vol), "f"), "x", 0o644)
	snap := createSnapshot(t, d, "snap", vol, nil).GetSnapshotId()
	for _, id := range []string{vol, vol, volumeID("never-created"), "bogus", "../../etc"} {
		if _, err := d.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id}); err != nil {
			t.Errorf("DeleteVolume(%s): %v", id, err)
		}
	}
	for _, id := range []string{snap, snap, snapshotID("never-created"), "bogus"} {
		if _, err := d.ctrl.DeleteSnapshot(ctx, &csi.DeleteSnapshotRequest{SnapshotId: id}); err != nil {
			t.Errorf("DeleteSnapshot(%s): %v", id, err)
		}
	}
	for _, p := range []string{"volumes/" + vol, "volumes/" + vol + ".json", "snapshots/" + snap, "snapshots/" + snap + ".json"} {
		wantMissing(t, filepath.Join(d.state, p))
	}
	if again := createVolume(t, d, "pvc-1"); again != vol {
		t.Errorf("recreated volume has ID %s, want %s", again, vol)
	}
	wantMissing(t, filepath.Join(VolumeDataDir(d.state, vol), "f"))
}

// TestSharedStateDir runs two drivers on one state directory, as two local clusters do.
func TestSharedStateDir(t *testing.T) {
	state := t.TempDir()
	d1, d2 := startDriver(t, state, ""), startDriver(t, state, "")
	vol := createVolume(t, d1, "pvc-shared")
	writeFile(t, filepath.Join(VolumeDataDir(state, vol), "f"), "shared", 0o644)

	type result struct {
		id  string
		err error
	}
	const callers = 8
	results := make(chan result, callers)
	for i := range callers {
		d := []*testDriver{d1, d2}[i%2]
		go func() {
			resp, err := d.ctrl.CreateSnapshot(t.Context(), &csi.CreateSnapshotRequest{Name: "snap-shared", SourceVolumeId: vol})
			results <- result{resp.GetSnapshot().GetSnapshotId(), err}
		}()
	}
	for range callers {
		if r := <-results; r.err != nil || r.id != snapshotID("snap-shared") {
			t.Errorf("concurrent CreateSnapshot = %q, %v; want %s", r.id, r.err, snapshotID("snap-shared"))
		}
	}
	restore := &csi.CreateVolumeRequest{
		Name: "pvc-restored", VolumeCapabilities: []*csi.VolumeCapability{mountCap()},
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: snapshotID("snap-shared")},
		}},
	}
	resp, err := d2.ctrl.CreateVolume(t.Context(), restore)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(VolumeDataDir(state, resp.GetVolume().GetVolumeId()), "f")); got != "shared" {
		t.Errorf("volume restored by the second driver has %q, want %q", got, "shared")
	}
	again, err := d1.ctrl.CreateVolume(t.Context(), restore)
	if err != nil || again.GetVolume().GetVolumeId() != resp.GetVolume().GetVolumeId() {
		t.Errorf("first driver's CreateVolume of the same name = %v, %v; want volume %s", again, err, resp.GetVolume().GetVolumeId())
	}
}

// TestReaderOnlyAccessModes provisions what a claim restored from a snapshot with accessModes
// ReadOnlyMany (or ReadWriteOncePod read-only) asks for.
func TestReaderOnlyAccessModes(t *testing.T) {
	d := startDriver(t, t.TempDir(), "")
	ctx := t.Context()
	vol := createVolume(t, d, "pvc-src")
	writeFile(t, filepath.Join(VolumeDataDir(d.state, vol), "f"), "data", 0o644)
	snap := createSnapshot(t, d, "snap", vol, nil).GetSnapshotId()
	for _, mode := range []csi.VolumeCapability_AccessMode_Mode{
		csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY, csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY,
	} {
		caps := []*csi.VolumeCapability{readerCap(mode)}
		resp, err := d.ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{
			Name: "pvc-" + mode.String(), VolumeCapabilities: caps, VolumeContentSource: snapshotSource(snap),
		})
		if err != nil {
			t.Fatalf("CreateVolume with %v: %v", mode, err)
		}
		id := resp.GetVolume().GetVolumeId()
		if got := readFile(t, filepath.Join(VolumeDataDir(d.state, id), "f")); got != "data" {
			t.Errorf("volume restored with %v has %q, want %q", mode, got, "data")
		}
		valid, err := d.ctrl.ValidateVolumeCapabilities(ctx, &csi.ValidateVolumeCapabilitiesRequest{VolumeId: id, VolumeCapabilities: caps})
		if err != nil || valid.GetConfirmed() == nil {
			t.Errorf("ValidateVolumeCapabilities(%v) = %v, %v; want confirmed", mode, valid, err)
		}
	}
}
