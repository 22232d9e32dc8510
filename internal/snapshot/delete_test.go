package snapshot

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/cairnbackup/cairn/internal/archive"
)

func contentObject(name, handle string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"driver": "d", "deletionPolicy": "Retain", "source": map[string]any{"volumeHandle": "v"}},
		"status":   map[string]any{"snapshotHandle": handle},
	}}
}

func snapshotted(claim, content, handle string) archive.VolumeRecord {
	return archive.VolumeRecord{Namespace: "shop", Claim: claim, Outcome: archive.VolumeSnapshotted,
		Snapshot: &archive.VolumeSnapshot{Content: content, Handle: handle}}
}

func TestDeleteKeepsSnapshotsOthersStillRecord(t *testing.T) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{ContentResource: "VolumeSnapshotContentList"},
		contentObject("c1", "h1"), contentObject("c2", "h2"), contentObject("c3", "someone-elses"))
	s := newWithClients(kubefake.NewClientset(), dyn, Options{Poll: time.Millisecond, Timeout: time.Second})
	records := []archive.VolumeRecord{
		snapshotted("a", "c1", "h1"),
		snapshotted("b", "c2", "h2"),
		snapshotted("c", "c3", "h3"),
		snapshotted("d", "c4-gone", "h4"),
		{Namespace: "shop", Claim: "e", Outcome: archive.VolumeSkipped, Reason: "not CSI"},
	}
	d, err := s.Delete(t.Context(), records, map[string]bool{"h2": true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Deleted != 2 || len(d.Kept) != 2 {
		t.Fatalf("deleted %d, kept %v", d.Deleted, d.Kept)
	}
	if !strings.Contains(d.Kept[0], "another recovery point still records it") || !strings.Contains(d.Kept[1], `now holds snapshot "someone-elses"`) {
		t.Fatalf("kept reasons: %v", d.Kept)
	}
	for name, want := range map[string]bool{"c1": false, "c2": true, "c3": true} {
		_, err := dyn.Resource(ContentResource).Get(t.Context(), name, metav1.GetOptions{})
		if exists := err == nil; exists != want {
			t.Errorf("content %s exists: %v, want %v (%v)", name, exists, want, err)
		} else if err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	}
}

// TestDeletePatchAddsTheSidecarsFinalizer: a content without csi-snapshotter's finalizer gets it,
// conditionally on the version read, so that deleting it deletes the snapshot at the driver.
func TestDeletePatchAddsTheSidecarsFinalizer(t *testing.T) {
	for _, tc := range []struct {
		finalizers []string
		want       string
	}{
		{nil, `{"metadata":{"annotations":{"` + beingDeletedAnnotation + `":"yes"},"finalizers":["` + contentFinalizer + `"],"resourceVersion":"7"},"spec":{"deletionPolicy":"Delete"}}`},
		{[]string{"other"}, `{"metadata":{"annotations":{"` + beingDeletedAnnotation + `":"yes"},"finalizers":["other","` + contentFinalizer + `"],"resourceVersion":"7"},"spec":{"deletionPolicy":"Delete"}}`},
		{[]string{contentFinalizer}, `{"metadata":{"annotations":{"` + beingDeletedAnnotation + `":"yes"}},"spec":{"deletionPolicy":"Delete"}}`},
	} {
		obj := contentObject("c", "h")
		obj.SetFinalizers(tc.finalizers)
		obj.SetResourceVersion("7")
		got, err := deletePatch(obj)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("finalizers %v: patch\n%s\nwant\n%s", tc.finalizers, got, tc.want)
		}
	}
}
