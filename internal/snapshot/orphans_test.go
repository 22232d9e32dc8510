package snapshot

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

func TestDeleteUnrecordedTakesOnlyThatBackupsSnapshots(t *testing.T) {
	owned := contentObject("mine", "h1")
	owned.SetLabels(map[string]string{LabelRepository: "repo", LabelRecoveryPoint: "b1"})
	sameNameOtherRepo := contentObject("theirs", "h2")
	sameNameOtherRepo.SetLabels(map[string]string{LabelRepository: "other", LabelRecoveryPoint: "b1"})
	otherBackup := contentObject("later", "h3")
	otherBackup.SetLabels(map[string]string{LabelRepository: "repo", LabelRecoveryPoint: "b2"})
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{ContentResource: "VolumeSnapshotContentList"}, owned, sameNameOtherRepo, otherBackup)
	s := newWithClients(kubefake.NewClientset(), dyn, Options{Poll: time.Millisecond, Timeout: time.Second})

	n, err := s.DeleteUnrecorded(t.Context(), Owner{Repository: "repo", RecoveryPoint: "b1"})
	if err != nil || n != 1 {
		t.Fatalf("deleted %d: %v", n, err)
	}
	list, err := dyn.Resource(ContentResource).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, it := range list.Items {
		left = append(left, it.GetName())
	}
	if len(left) != 2 || left[0] == "mine" || left[1] == "mine" {
		t.Fatalf("contents left: %v", left)
	}
}
