package snapshot

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

// TestKeepContentMakesADeletedContentAgain: a retained content the snapshot controller deleted
// with its VolumeSnapshot (its cache had not seen the Retain patch) is made again, pre-provisioned
// with the same name and handle, Retain and labelled; one still there is left alone.
func TestKeepContentMakesADeletedContentAgain(t *testing.T) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{ContentResource: "VolumeSnapshotContentList"}, contentObject("kept", "h1"))
	s := newWithClients(kubefake.NewClientset(), dyn, Options{Poll: time.Millisecond, Timeout: time.Second})
	owner := Owner{RecoveryPoint: "rp-1", Repository: "repo"}
	read := func(name string) content {
		t.Helper()
		obj, err := dyn.Resource(ContentResource).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := decode[content](obj)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	kept := read("kept")
	if err := s.keepContent(t.Context(), kept, owner, "shop", "vs-1"); err != nil {
		t.Fatal(err)
	}
	if got := read("kept"); got.Spec.Source.SnapshotHandle != "" || got.handle() != "h1" {
		t.Fatalf("a content still there was changed: %+v", got)
	}

	gone := kept
	gone.Metadata.Name = "gone"
	if err := s.keepContent(t.Context(), gone, owner, "shop", "vs-1"); err != nil {
		t.Fatal(err)
	}
	again := read("gone")
	if again.handle() != "h1" || again.Spec.DeletionPolicy != "Retain" || again.Spec.Driver != "d" || again.Metadata.Annotations[AnnotationHandle] != "h1" {
		t.Fatalf("made again: %+v", again)
	}
	obj, _ := dyn.Resource(ContentResource).Get(t.Context(), "gone", metav1.GetOptions{})
	ref, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "volumeSnapshotRef")
	if ref["namespace"] != "shop" || ref["name"] != "vs-1" {
		t.Fatalf("volumeSnapshotRef %v", ref)
	}
	for k, v := range owner.labels() {
		if obj.GetLabels()[k] != v {
			t.Fatalf("labels %v, want %v", obj.GetLabels(), owner.labels())
		}
	}
}
