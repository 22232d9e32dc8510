package backup

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

var claimResource = scope.Resource{Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Kind: "PersistentVolumeClaim"}

// protectVolumes snapshots the claims in scope, or backs them up through their files when they are
// opted in and have no snapshot. Skipped volumes become warnings (the backup still protects
// everything else), failed ones errors.
func (b *run) protectVolumes(ctx context.Context, namespaces []string, clusterID string) []archive.VolumeRecord {
	if b.opts.Volumes == nil || !b.scope.ResourceIncluded(claimResource) {
		return nil
	}
	var claims []corev1.PersistentVolumeClaim
	for _, ns := range namespaces {
		list, err := b.client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			b.addError(fmt.Sprintf("list persistentvolumeclaims in namespace %s: %v", ns, err))
			continue
		}
		for _, c := range list.Items {
			if b.scope.Selected(c.Labels) && !scope.Excluded(c.Annotations, c.Labels) {
				claims = append(claims, c)
			}
		}
	}
	if len(claims) == 0 {
		return nil
	}
	b.log.Info("snapshotting volumes", "claims", len(claims))
	optIn := func(c corev1.PersistentVolumeClaim) bool {
		return snapshot.FSBackupOptIn(b.nsAnnotations[c.Namespace], c.Annotations)
	}
	prot, err := b.opts.Volumes.Protect(ctx, snapshot.Owner{Repository: b.repoID, RecoveryPoint: b.opts.Name}, claims, optIn)
	if err != nil {
		b.addError(fmt.Sprintf("volume snapshots: %v", err))
		return nil
	}
	for _, r := range prot.Records {
		switch r.Outcome {
		case archive.VolumeSkipped:
			b.addWarning(fmt.Sprintf("volume of claim %s/%s not snapshotted: %s", r.Namespace, r.Claim, r.Reason))
		case archive.VolumeFailed:
			b.addError(fmt.Sprintf("volume of claim %s/%s: snapshot failed: %s", r.Namespace, r.Claim, r.Reason))
		}
	}
	fs := prot.FileSystem
	if len(fs) > 0 && ctx.Err() == nil {
		fs = b.backupFiles(ctx, clusterID, fs)
	}
	records := slices.Concat(prot.Records, fs)
	snapshot.SortRecords(records)
	return records
}

// backupFiles backs up the volumes opted in to the file-system backup (records Skipped for want
// of a snapshot) through the data mover, which needs its image.
func (b *run) backupFiles(ctx context.Context, clusterID string, records []archive.VolumeRecord) []archive.VolumeRecord {
	if b.opts.FSBackup == nil {
		for i, r := range records {
			records[i].Reason = r.Reason + "; opted in to the file-system backup, which runs data mover pods: name their image with --mover-image"
			b.addWarning(fmt.Sprintf("volume of claim %s/%s not protected: %s", r.Namespace, r.Claim, records[i].Reason))
		}
		return records
	}
	b.log.Info("backing up volumes through their files", "volumes", len(records))
	out := b.opts.FSBackup(ctx, clusterID, records)
	for _, r := range out {
		switch {
		case r.Outcome == archive.VolumeSkipped:
			b.addWarning(fmt.Sprintf("volume of claim %s/%s not protected: %s", r.Namespace, r.Claim, r.Reason))
		case r.Outcome == archive.VolumeFailed:
			b.addError(fmt.Sprintf("volume of claim %s/%s: %s", r.Namespace, r.Claim, r.Reason))
		case r.CopyError != "":
			b.addError(fmt.Sprintf("volume of claim %s/%s: file-system backup incomplete: %s", r.Namespace, r.Claim, r.CopyError))
		}
	}
	return out
}

// copyVolumes copies the snapshotted volumes' data; a copy that fails is an error of the backup
// (the volume keeps its snapshot).
func (b *run) copyVolumes(ctx context.Context, clusterID string, records []archive.VolumeRecord) []archive.VolumeRecord {
	b.log.Info("copying volume data", "volumes", len(records))
	out := b.opts.CopyVolumes(ctx, clusterID, records)
	for _, r := range out {
		if r.Copy != nil && r.Copy.Method == archive.CopyMethodFileSystem {
			continue // noted by backupFiles
		}
		if r.CopyError != "" {
			b.addError(fmt.Sprintf("volume of claim %s/%s: copy failed: %s", r.Namespace, r.Claim, r.CopyError))
		}
	}
	return out
}
