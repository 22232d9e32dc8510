package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/cairnbackup/cairn/internal/archive"
)

// Deletion is what deleting a recovery point's snapshots did.
type Deletion struct {
	Deleted int
	// Kept lists snapshots left alone, with why.
	Kept []string
}

// Delete deletes the snapshots the records hold, except those whose handle is in stillReferenced
// (another recovery point records them). A content that is gone already counts as deleted; one
// that now holds another snapshot is left alone. The error joins every snapshot that could not be
// deleted.
func (s *Snapshotter) Delete(ctx context.Context, records []archive.VolumeRecord, stillReferenced map[string]bool) (Deletion, error) {
	var d Deletion
	var errs []error
	for _, rec := range records {
		snap := rec.Snapshot
		if rec.Outcome != archive.VolumeSnapshotted || snap == nil {
			continue
		}
		if stillReferenced[snap.Handle] {
			d.Kept = append(d.Kept, fmt.Sprintf("%s (claim %s/%s): another recovery point still records it", snap.Content, rec.Namespace, rec.Claim))
			continue
		}
		kept, err := s.deleteContent(ctx, snap.Content, snap.Handle)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("snapshot of claim %s/%s: %w", rec.Namespace, rec.Claim, err))
		case kept != "":
			d.Kept = append(d.Kept, fmt.Sprintf("%s (claim %s/%s): %s", snap.Content, rec.Namespace, rec.Claim, kept))
		default:
			d.Deleted++
		}
	}
	return d, errors.Join(errs...)
}

// deleteContent deletes a retained content and its snapshot at the driver, and waits until both
// are gone. It returns why it left the content alone, if it did.
func (s *Snapshotter) deleteContent(ctx context.Context, name, handle string) (string, error) {
	var kept string
	gone := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		kept, gone, err = s.markForDeletion(ctx, name, handle)
		return err
	})
	if err != nil || kept != "" || gone {
		return kept, err
	}
	res := s.dyn.Resource(ContentResource)
	if err := res.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("delete VolumeSnapshotContent %s: %w", name, err)
	}
	err = s.waitFor(ctx, s.opts.Timeout, func(ctx context.Context) (bool, error) {
		_, err := res.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return "", fmt.Errorf("VolumeSnapshotContent %s still exists after %s (the CSI driver has not deleted the snapshot; see csi-snapshotter's log): %w", name, s.opts.Timeout, err)
	}
	s.log.Info("snapshot deleted", "content", name, "handle", handle)
	return "", nil
}

// markForDeletion sets the content that still holds the recorded snapshot to be deleted with it.
// It returns why it left the content alone, or whether the content is gone already.
func (s *Snapshotter) markForDeletion(ctx context.Context, name, handle string) (kept string, gone bool, err error) {
	res := s.dyn.Resource(ContentResource)
	obj, err := res.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", true, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read VolumeSnapshotContent %s: %w", name, err)
	}
	cont, err := decode[content](obj)
	if err != nil {
		return "", false, err
	}
	if got := cont.handle(); got != handle {
		return fmt.Sprintf("the content now holds snapshot %q, not the recorded %q", got, handle), false, nil
	}
	patch, err := deletePatch(obj)
	if err != nil {
		return "", false, err
	}
	if _, err := res.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return "", true, nil
		}
		return "", false, fmt.Errorf("set VolumeSnapshotContent %s to Delete: %w", name, err)
	}
	return "", false, nil
}

// deletePatch sets a content's policy to Delete and makes sure it carries the sidecar's finalizer:
// without it the API server drops the object at once and csi-snapshotter never deletes the snapshot
// at the driver. A content keepContent made again is pre-provisioned and unbound, and the snapshot
// controller adds that finalizer only to bound ones. The resourceVersion makes the finalizer list
// a conditional write.
func deletePatch(obj *unstructured.Unstructured) ([]byte, error) {
	meta := map[string]any{"annotations": map[string]any{beingDeletedAnnotation: "yes"}}
	if fins := obj.GetFinalizers(); !slices.Contains(fins, contentFinalizer) {
		meta["finalizers"] = append(fins, contentFinalizer)
		meta["resourceVersion"] = obj.GetResourceVersion()
	}
	patch, err := json.Marshal(map[string]any{"metadata": meta, "spec": map[string]any{"deletionPolicy": "Delete"}})
	if err != nil {
		return nil, fmt.Errorf("encode the patch of VolumeSnapshotContent %s: %w", obj.GetName(), err)
	}
	return patch, nil
}
