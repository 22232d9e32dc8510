package mover

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// FSBackupRequest says which recovery point's volumes to back up through their files.
type FSBackupRequest struct {
	RecoveryPoint string
	// ClusterID names the source cluster in each copy's source (CLUSTER/NAMESPACE/CLAIM).
	ClusterID string
	// Progress, if set, is told of each volume done; called from several goroutines.
	Progress func(CopyProgress)
}

// BackupFiles backs up the volumes of the records (Skipped: they have no snapshot) through their
// files, read in place by a pod on the node that runs them (docs/design/volumes.md, "File-system
// backup of volumes without snapshots"). Each record comes back Copied (its copy's method
// file-system), Skipped when the volume cannot be read, or Failed.
func (m *Mover) BackupFiles(ctx context.Context, req FSBackupRequest, records []archive.VolumeRecord) []archive.VolumeRecord {
	out := make([]archive.VolumeRecord, len(records))
	copy(out, records)
	todo := make([]int, len(out))
	for i := range todo {
		todo[i] = i
	}
	each(out, todo, func(rec archive.VolumeRecord) archive.VolumeRecord { return m.fsBackupOne(ctx, req, rec) }, req.Progress)
	return out
}

// fsBackupOne backs up one volume through its files.
func (m *Mover) fsBackupOne(ctx context.Context, req FSBackupRequest, rec archive.VolumeRecord) archive.VolumeRecord {
	why := rec.Reason
	skip := func(reason string) archive.VolumeRecord {
		rec.Outcome, rec.Reason = archive.VolumeSkipped, why+"; not backed up through its files: "+reason
		return rec
	}
	fail := func(err error) archive.VolumeRecord {
		rec.Outcome, rec.Reason = archive.VolumeFailed, "file-system backup failed: "+err.Error()
		m.log.Warn("file-system backup failed", "namespace", rec.Namespace, "claim", rec.Claim, "error", err)
		return rec
	}
	if rec.VolumeMode == string(corev1.PersistentVolumeBlock) {
		return skip("a Block volume has no files")
	}
	release, err := m.slot(ctx)
	if err != nil {
		return fail(err)
	}
	defer release()
	began := m.opts.Now()
	where, cannot, err := m.locate(ctx, rec.Namespace, rec.Claim, rec.Volume)
	if err != nil {
		return fail(err)
	}
	if cannot != "" {
		return skip(cannot)
	}
	name := snapshot.ObjectName("cairn-mover", req.RecoveryPoint, rec.Namespace, rec.Claim)
	source := CopySource(req.ClusterID, rec.Namespace, rec.Claim)
	var undo cleanup
	res, err := m.fsBackupWith(ctx, name, req.RecoveryPoint, source, rec, where, &undo)
	if cerr := undo.run(ctx); cerr != nil {
		m.log.Warn("data mover objects not all removed; the next sweep removes them", "namespace", rec.Namespace, "claim", rec.Claim, "error", cerr)
	}
	if err != nil {
		return fail(err)
	}
	rec.Outcome = archive.VolumeCopied
	if res.Problems > 0 {
		rec.CopyError = fmt.Sprintf("%d entries of the volume could not be read (cairn files ls %s shows which)", res.Problems, res.FileSnapshot)
	}
	rec.Copy = &archive.VolumeCopy{FileSnapshot: res.FileSnapshot, Source: source, VolumeMode: string(corev1.PersistentVolumeFilesystem),
		Files: res.Files, Bytes: res.Bytes, AddedBytes: res.AddedBytes, Seconds: m.opts.Now().Sub(began).Seconds(), Method: archive.CopyMethodFileSystem}
	m.log.Info("volume backed up through its files", "namespace", rec.Namespace, "claim", rec.Claim, "from", where.from,
		"fileSnapshot", res.FileSnapshot, "bytes", res.Bytes, "addedBytes", res.AddedBytes, "seconds", rec.Copy.Seconds)
	return rec
}

// fsBackupWith makes the secret and the pod reading the volume where it is, registering each in
// undo.
func (m *Mover) fsBackupWith(ctx context.Context, name, owner, source string, rec archive.VolumeRecord, where placement, undo *cleanup) (Result, error) {
	ns := m.opts.Namespace
	secrets := m.client.CoreV1().Secrets(ns)
	if _, err := secrets.Create(ctx, m.credentialSecret(name, owner), metav1.CreateOptions{}); err != nil {
		return Result{}, fmt.Errorf("create secret %s/%s: %w", ns, name, err)
	}
	undo.add(deleteFunc("secret", ns, name, secrets.Delete))
	pod := m.fsPod(name, owner, source, rec, where)
	undo.add(deleteFunc("pod", ns, name, m.client.CoreV1().Pods(ns).Delete))
	return m.runPod(ctx, pod)
}

// fsPod is the backup pod reading a volume in place.
func (m *Mover) fsPod(name, owner, source string, rec archive.VolumeRecord, where placement) *corev1.Pod {
	pod := m.pod(name, owner, name, where.data, readCapabilities, m.backupArgs(owner, source, rec, where.data.path()))
	pod.Spec.NodeName = where.node
	if where.node == "" && where.affinity != nil {
		pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: where.affinity}}
	}
	return pod
}
