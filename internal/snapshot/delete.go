package snapshot

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

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
	res := s.dyn.Resource(ContentResource)
	obj, err := res.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read VolumeSnapshotContent %s: %w", name, err)
	}
	cont, err := decode[content](obj)
	if err != nil {
		return "", err
	}
	if got := cont.handle(); got != handle {
		return fmt.Sprintf("the content now holds snapshot %q, not the recorded %q", got, handle), nil
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"yes"}},"spec":{"deletionPolicy":"Delete"}}`, beingDeletedAnnotation)
	if _, err := res.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("set VolumeSnapshotContent %s to Delete: %w", name, err)
	}
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
