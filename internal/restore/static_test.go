package restore

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

func livePV(name string, ref *corev1.ObjectReference, phase corev1.PersistentVolumePhase) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{ClaimRef: ref},
		Status: corev1.PersistentVolumeStatus{Phase: phase}}
}

func claimRef(ns, name, uid string) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: name, UID: types.UID(uid)}
}

func liveClaim(ns, name, uid string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid)}}
}

func TestReadBackedUpPVMapsItsClaim(t *testing.T) {
	m := mapper{namespaces: map[string]string{"a": "b"}}
	if got := readBackedUpPV(pvItem("pv-1", "a", "data", "Retain", false), m); got != (backedUpPV{name: "pv-1", claim: "b/data"}) {
		t.Errorf("mapped: %+v", got)
	}
	if got := readBackedUpPV([]byte(`{"metadata":{"name":"pv-2"},"spec":{}}`), m); got != (backedUpPV{name: "pv-2"}) {
		t.Errorf("no claimRef: %+v", got)
	}
}

func TestStaticVolumesNote(t *testing.T) {
	restoring := map[string]string{"shop/data": "pv-1"}
	tests := []struct {
		name      string
		pv        backedUpPV
		live      *corev1.PersistentVolume
		claims    map[string]string
		objects   []runtime.Object
		keep      bool
		stale     bool
		refusedBy string
	}{
		{name: "not in the target", pv: backedUpPV{"pv-1", "shop/data"}, claims: restoring, keep: true},
		{name: "available", pv: backedUpPV{"pv-1", "shop/data"}, live: livePV("pv-1", nil, corev1.VolumeAvailable), claims: restoring, keep: true},
		{name: "pre-bound to the claim", pv: backedUpPV{"pv-1", "shop/data"},
			live: livePV("pv-1", claimRef("shop", "data", ""), corev1.VolumeAvailable), claims: restoring, keep: true},
		{name: "released by the deleted claim", pv: backedUpPV{"pv-1", "shop/data"},
			live: livePV("pv-1", claimRef("shop", "data", "old"), corev1.VolumeReleased), claims: restoring, keep: true, stale: true},
		{name: "bound to the live claim", pv: backedUpPV{"pv-1", "shop/data"},
			live:    livePV("pv-1", claimRef("shop", "data", "u1"), corev1.VolumeBound),
			objects: []runtime.Object{liveClaim("shop", "data", "u1")}, claims: restoring, keep: true},
		{name: "claim made anew", pv: backedUpPV{"pv-1", "shop/data"},
			live:    livePV("pv-1", claimRef("shop", "data", "old"), corev1.VolumeReleased),
			objects: []runtime.Object{liveClaim("shop", "data", "new")}, claims: restoring, keep: true},
		{name: "released, its claim not restored", pv: backedUpPV{"pv-1", "shop/data"},
			live: livePV("pv-1", claimRef("shop", "data", "old"), corev1.VolumeReleased), claims: map[string]string{}, keep: true},
		{name: "bound to the unmapped claim", pv: backedUpPV{"pv-1", "copy/data"},
			live:    livePV("pv-1", claimRef("shop", "data", "u1"), corev1.VolumeBound),
			objects: []runtime.Object{liveClaim("shop", "data", "u1")}, claims: map[string]string{"copy/data": "pv-1"}, refusedBy: "claim shop/data in the target (Bound)"},
		{name: "released by the unmapped claim", pv: backedUpPV{"pv-1", "copy/data"},
			live:   livePV("pv-1", claimRef("shop", "data", "old"), corev1.VolumeReleased),
			claims: map[string]string{"copy/data": "pv-1"}, refusedBy: "claim shop/data in the target (Released)"},
		{name: "held by another claim", pv: backedUpPV{"pv-1", ""},
			live: livePV("pv-1", claimRef("else", "x", "u2"), corev1.VolumeBound), claims: restoring, refusedBy: "claim else/x in the target (Bound)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStaticVolumes()
			keep, err := s.note(t.Context(), kubefake.NewClientset(tt.objects...), tt.pv, tt.live, tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			if keep != tt.keep {
				t.Errorf("keep = %v, want %v", keep, tt.keep)
			}
			if _, stale := s.stale["pv-1"]; stale != tt.stale {
				t.Errorf("stale = %v, want %v", stale, tt.stale)
			}
			why, refused := s.refused["pv-1"]
			if refused != (tt.refusedBy != "") || !strings.Contains(why, tt.refusedBy) {
				t.Errorf("refused %q, want by %q", why, tt.refusedBy)
			}
		})
	}
}

func TestWarnRefusedNamesTheClaim(t *testing.T) {
	s := newStaticVolumes()
	s.refused["pv-1"] = "belongs to claim shop/data in the target (Bound)"
	rec := &recorder{}
	s.warnRefused(map[string]string{"copy/data": "pv-1", "copy/other": "pv-2", "copy/none": ""}, rec)
	if len(rec.warnings) != 1 || !strings.Contains(rec.warnings[0], "claim copy/data is restored without volumeName: its volume pv-1 belongs to claim shop/data") {
		t.Errorf("warnings %q", rec.warnings)
	}
}

func staticRun(t *testing.T, objects ...runtime.Object) *run {
	t.Helper()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	snaps, err := snapshot.New(&rest.Config{Host: "http://127.0.0.1:1"}, snapshot.Options{Timeout: time.Second, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return &run{client: kubefake.NewClientset(objects...), snapshots: snaps, rec: &recorder{}, static: newStaticVolumes(),
		log: slog.New(slog.DiscardHandler), opts: Options{Now: clock}}
}

func TestReleaseStaleClearsTheDeletedClaimsUID(t *testing.T) {
	pv := livePV("pv-1", claimRef("shop", "data", "old"), corev1.VolumeReleased)
	pv.Spec.ClaimRef.ResourceVersion = "41"
	r := staticRun(t, pv)
	r.static.stale["pv-1"] = *claimRef("shop", "data", "old")
	if note := r.releaseStale(t.Context(), "pv-1"); !strings.Contains(note, "deleted claim shop/data: cleared") {
		t.Errorf("note %q", note)
	}
	got, err := r.client.CoreV1().PersistentVolumes().Get(t.Context(), "pv-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := got.Spec.ClaimRef; ref.UID != "" || ref.ResourceVersion != "" || ref.Namespace != "shop" || ref.Name != "data" {
		t.Errorf("claimRef after release: %+v", ref)
	}
	if note := r.releaseStale(t.Context(), "pv-2"); note != "" {
		t.Errorf("a volume not stale: note %q", note)
	}
}

func TestReleaseStaleLeavesAVolumeBoundMeanwhile(t *testing.T) {
	r := staticRun(t, livePV("pv-1", claimRef("shop", "data", "new"), corev1.VolumeBound))
	r.static.stale["pv-1"] = *claimRef("shop", "data", "old")
	if note := r.releaseStale(t.Context(), "pv-1"); !strings.Contains(note, "was not cleared") || len(r.rec.warnings) != 1 {
		t.Errorf("note %q, warnings %q", note, r.rec.warnings)
	}
	got, _ := r.client.CoreV1().PersistentVolumes().Get(t.Context(), "pv-1", metav1.GetOptions{})
	if got.Spec.ClaimRef.UID != "new" {
		t.Errorf("claimRef changed: %+v", got.Spec.ClaimRef)
	}
}

func TestReleaseStaleInADryRunChangesNothing(t *testing.T) {
	r := staticRun(t, livePV("pv-1", claimRef("shop", "data", "old"), corev1.VolumeReleased))
	r.opts.DryRun = true
	r.static.stale["pv-1"] = *claimRef("shop", "data", "old")
	if note := r.releaseStale(t.Context(), "pv-1"); !strings.Contains(note, "would be cleared") {
		t.Errorf("note %q", note)
	}
	got, _ := r.client.CoreV1().PersistentVolumes().Get(t.Context(), "pv-1", metav1.GetOptions{})
	if got.Spec.ClaimRef.UID != "old" {
		t.Errorf("claimRef changed: %+v", got.Spec.ClaimRef)
	}
}

func TestPVSkipRefusedWhateverThePolicy(t *testing.T) {
	r := staticRun(t)
	r.vols = newVolumePlan(VolumesData, nil)
	r.vols.skipPV["pv-snap"] = "claim shop/db gets a new volume from snapshot s"
	r.static.refused["pv-1"] = "belongs to claim shop/data in the target (Bound)"
	if why, skip := r.pvSkip("pv-1"); !skip || !strings.Contains(why, "whatever the conflict policy") {
		t.Errorf("refused: %v %q", skip, why)
	}
	if why, skip := r.pvSkip("pv-snap"); !skip || !strings.Contains(why, "snapshot") {
		t.Errorf("snapshotted: %v %q", skip, why)
	}
	if _, skip := r.pvSkip("pv-2"); skip {
		t.Error("a restored volume skipped")
	}
}

// staticClaimItem is a cleaned claim named data in namespace shop.
func staticClaimItem(volume string) *unstructured.Unstructured {
	spec := map[string]any{"storageClassName": "manual",
		"dataSource": map[string]any{"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "old"}}
	if volume != "" {
		spec["volumeName"] = volume
	}
	return &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "data", "namespace": "shop"}, "spec": spec}}
}

func TestPrepareClaimOfAStaticVolume(t *testing.T) {
	records := []archive.VolumeRecord{{Namespace: "shop", Claim: "data", Volume: "pv-1", Outcome: archive.VolumeSkipped,
		Reason: "volume pv-1 is a hostPath volume, not CSI"}}
	tests := []struct {
		name, mode, volume string
		action             string
		keeps              bool
		outcome            string
	}{
		{name: "kept and created", mode: VolumesData, volume: "pv-1", action: ActionCreate, keeps: true, outcome: VolumeRestored},
		{name: "kept, the claim exists", mode: VolumesData, volume: "pv-1", action: ActionSkip, keeps: true, outcome: VolumeSkipped},
		{name: "kept, creating failed", mode: VolumesData, volume: "pv-1", action: ActionFail, keeps: true, outcome: VolumeFailed},
		{name: "volume not restored", mode: VolumesData, outcome: VolumeEmpty},
		{name: "empty volumes", mode: VolumesEmpty, volume: "pv-1", outcome: VolumeEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := staticRun(t, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "data"},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}})
			r.vols = newVolumePlan(tt.mode, records)
			obj := staticClaimItem(tt.volume)
			item := ItemResult{Resource: "persistentvolumeclaims", Namespace: "shop", Name: "data"}
			if r.prepareClaim(t.Context(), "shop", obj, &item) {
				t.Fatalf("claim not applied: %+v", item)
			}
			volume, _, _ := unstructured.NestedString(obj.Object, "spec", "volumeName")
			if (volume == "pv-1") != tt.keeps {
				t.Errorf("volumeName %q", volume)
			}
			if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "dataSource"); found {
				t.Error("snapshot dataSource kept")
			}
			if tt.action != "" {
				r.claimApplied("shop", "data", tt.action)
			}
			r.settleVolumes(t.Context())
			if len(r.rec.volumes) != 1 || r.rec.volumes[0].Outcome != tt.outcome {
				t.Fatalf("volume results %+v, want %s", r.rec.volumes, tt.outcome)
			}
			if v := r.rec.volumes[0]; tt.outcome == VolumeRestored && (v.BoundSeconds <= 0 || !strings.Contains(v.Reason, "pv-1")) {
				t.Errorf("restored volume %+v", v)
			}
		})
	}
}
