package snapshot

import (
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The snapshot.storage.k8s.io/v1 resources.
var (
	SnapshotResource = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshots"}
	ContentResource  = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotcontents"}
	ClassResource    = schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: "v1", Resource: "volumesnapshotclasses"}
)

// Labels and annotations cairn puts on the snapshot objects it makes.
const (
	LabelRecoveryPoint = "backup.cairn.dev/recovery-point"
	LabelRepository    = "backup.cairn.dev/repository"
	LabelRestore       = "backup.cairn.dev/restore"
	AnnotationHandle   = "backup.cairn.dev/snapshot-handle"

	defaultClassAnnotation = "snapshot.storage.kubernetes.io/is-default-class"
	beingDeletedAnnotation = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted"
	// contentFinalizer is csi-snapshotter's: it deletes the snapshot at the driver, then removes it.
	contentFinalizer = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
)

// volumeSnapshot is the part of a VolumeSnapshot cairn reads.
type volumeSnapshot struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Status *struct {
		BoundContent string     `json:"boundVolumeSnapshotContentName"`
		ReadyToUse   *bool      `json:"readyToUse"`
		RestoreSize  string     `json:"restoreSize"`
		CreationTime *time.Time `json:"creationTime"`
		Error        *struct {
			Message string     `json:"message"`
			Time    *time.Time `json:"time"`
		} `json:"error"`
	} `json:"status"`
}

// content is the part of a VolumeSnapshotContent cairn reads.
type content struct {
	Metadata struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Driver         string `json:"driver"`
		DeletionPolicy string `json:"deletionPolicy"`
		Source         struct {
			SnapshotHandle string `json:"snapshotHandle"`
		} `json:"source"`
	} `json:"spec"`
	Status *struct {
		SnapshotHandle string `json:"snapshotHandle"`
		RestoreSize    *int64 `json:"restoreSize"`
		CreationTime   *int64 `json:"creationTime"`
	} `json:"status"`
}

// handle is the snapshot's id at the driver: the status's for a dynamic snapshot, the spec's for a
// pre-provisioned one.
func (c content) handle() string {
	if c.Status != nil && c.Status.SnapshotHandle != "" {
		return c.Status.SnapshotHandle
	}
	return c.Spec.Source.SnapshotHandle
}

func decode[T any](obj *unstructured.Unstructured) (T, error) {
	var out T
	data, err := obj.MarshalJSON()
	if err == nil {
		err = json.Unmarshal(data, &out)
	}
	if err != nil {
		return out, fmt.Errorf("decode %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return out, nil
}
