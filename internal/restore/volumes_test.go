package restore

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cairnbackup/cairn/internal/archive"
)

func pvItem(name, claimNS, claim, reclaim string, csi bool) []byte {
	src := `"hostPath":{"path":"/x"}`
	if csi {
		src = `"csi":{"driver":"d","volumeHandle":"h"}`
	}
	return []byte(`{"metadata":{"name":"` + name + `"},"spec":{` + src + `,"persistentVolumeReclaimPolicy":"` + reclaim +
		`","claimRef":{"namespace":"` + claimNS + `","name":"` + claim + `"}}}`)
}

func TestVolumePlanDecidesWhichVolumesAreRestored(t *testing.T) {
	records := []archive.VolumeRecord{
		{Namespace: "shop", Claim: "db", Volume: "pv-db", Driver: "d", Outcome: archive.VolumeSnapshotted, Snapshot: &archive.VolumeSnapshot{Handle: "snap-1"}},
		{Namespace: "shop", Claim: "cache", Volume: "pv-cache", Driver: "d", Outcome: archive.VolumeSkipped, Reason: "policy"},
		{Namespace: "shop", Claim: "kept", Volume: "pv-kept", Driver: "d", Outcome: archive.VolumeSkipped, Reason: "policy"},
		{Namespace: "shop", Claim: "host", Volume: "pv-host", Outcome: archive.VolumeSkipped, Reason: "hostPath"},
	}
	items := [][]byte{
		pvItem("pv-db", "shop", "db", "Delete", true),
		pvItem("pv-cache", "shop", "cache", "Delete", true),
		pvItem("pv-kept", "shop", "kept", "Retain", true),
		pvItem("pv-host", "shop", "host", "Retain", false),
		pvItem("pv-other", "else", "x", "Delete", true),
	}
	cases := map[string]map[string]string{
		VolumesData:  {"pv-db": "from snapshot snap-1", "pv-cache": "new empty volume"},
		VolumesEmpty: {"pv-db": "new empty volume", "pv-cache": "new empty volume"},
		VolumesSkip:  {"pv-db": "--volumes=skip", "pv-cache": "--volumes=skip", "pv-kept": "--volumes=skip", "pv-host": "--volumes=skip"},
	}
	for mode, want := range cases {
		v := newVolumePlan(mode, records)
		for _, it := range items {
			v.notePV(it)
		}
		if len(v.skipPV) != len(want) {
			t.Errorf("%s: skipped %v, want %v", mode, v.skipPV, want)
		}
		for pv, reason := range want {
			if !strings.Contains(v.skipPV[pv], reason) {
				t.Errorf("%s: %s skipped for %q, want %q", mode, pv, v.skipPV[pv], reason)
			}
		}
	}
}

func TestClaimSourcesAreRewritten(t *testing.T) {
	claim := func() *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
			"volumeName":    "pv-1",
			"dataSource":    map[string]any{"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "old"},
			"dataSourceRef": map[string]any{"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "old"},
		}}}
	}
	c := claim()
	setSnapshotSource(c, "new")
	if name, _, _ := unstructured.NestedString(c.Object, "spec", "dataSource", "name"); name != "new" {
		t.Errorf("dataSource %q", name)
	}
	for _, f := range []string{"volumeName", "dataSourceRef"} {
		if _, found, _ := unstructured.NestedFieldNoCopy(c.Object, "spec", f); found {
			t.Errorf("%s kept", f)
		}
	}
	c = claim()
	removeSnapshotSource(c)
	if spec, _, _ := unstructured.NestedMap(c.Object, "spec"); len(spec) != 1 || spec["volumeName"] != "pv-1" {
		t.Errorf("spec after removing the snapshot source: %v", spec)
	}
	c = &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"dataSource": map[string]any{"kind": "PersistentVolumeClaim", "name": "src"}}}}
	removeSnapshotSource(c)
	if _, found, _ := unstructured.NestedFieldNoCopy(c.Object, "spec", "dataSource"); !found {
		t.Error("a clone source was removed")
	}
}
