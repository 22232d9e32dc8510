package mover

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// CopyRequest says which recovery point's volumes to copy.
type CopyRequest struct {
	RecoveryPoint string
	// ClusterID names the source cluster in each copy's source (CLUSTER/NAMESPACE/CLAIM).
	ClusterID string
	// KeepSnapshots keeps the snapshots after the copy (snapshot+copy); without it they are
	// deleted and the copied volumes are recorded as Copied.
	KeepSnapshots bool
	// Progress, if set, is told of each volume copied; called from several goroutines.
	Progress func(CopyProgress)
}

// CopyProgress is where the copies are.
type CopyProgress struct {
	Namespace, Claim string
	Done, Total      int
	Bytes            int64
	Seconds          float64
}

// CopySource is the file store source of a claim's copies.
func CopySource(clusterID, namespace, claim string) string {
	return clusterID + "/" + namespace + "/" + claim
}

// Copy copies the data of every snapshotted volume into the file store and returns the records
// with their copies (or the copy's error). Records of volumes that were not snapshotted are
// returned as they were.
func (m *Mover) Copy(ctx context.Context, req CopyRequest, records []archive.VolumeRecord) []archive.VolumeRecord {
	out := make([]archive.VolumeRecord, len(records))
	copy(out, records)
	var todo []int
	for i, r := range out {
		if r.Outcome == archive.VolumeSnapshotted && r.Snapshot != nil {
			todo = append(todo, i)
		}
	}
	each(out, todo, func(rec archive.VolumeRecord) archive.VolumeRecord {
		rec = m.copyOne(ctx, req, rec)
		if !req.KeepSnapshots {
			rec = m.dropSnapshot(ctx, rec)
		}
		return rec
	}, req.Progress)
	return out
}

// each replaces the records at the indexes todo by what one makes of them, concurrently (one
// bounds itself with the mover's slots), and tells progress, if set, of each one done.
func each(out []archive.VolumeRecord, todo []int, one func(archive.VolumeRecord) archive.VolumeRecord, progress func(CopyProgress)) {
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for _, i := range todo {
		wg.Go(func() {
			rec := one(out[i])
			mu.Lock()
			out[i] = rec
			done++
			p := CopyProgress{Namespace: rec.Namespace, Claim: rec.Claim, Done: done, Total: len(todo)}
			mu.Unlock()
			if rec.Copy != nil {
				p.Bytes, p.Seconds = rec.Copy.Bytes, rec.Copy.Seconds
			}
			if progress != nil {
				progress(p)
			}
		})
	}
	wg.Wait()
}

// copyOne copies one snapshotted volume; a failure is recorded in CopyError.
func (m *Mover) copyOne(ctx context.Context, req CopyRequest, rec archive.VolumeRecord) archive.VolumeRecord {
	if err := m.ready(); err != nil {
		rec.CopyError = err.Error()
		return rec
	}
	release, err := m.slot(ctx)
	if err != nil {
		rec.CopyError = err.Error()
		return rec
	}
	began := m.opts.Now()
	name := snapshot.ObjectName("cairn-mover", req.RecoveryPoint, rec.Namespace, rec.Claim)
	source := CopySource(req.ClusterID, rec.Namespace, rec.Claim)
	var undo cleanup
	res, err := m.copyWith(ctx, name, req.RecoveryPoint, source, rec, &undo)
	release() // the next copy starts while this one's objects go
	if cerr := undo.run(ctx); cerr != nil {
		m.log.Warn("data mover objects not all removed; the next sweep removes them", "namespace", rec.Namespace, "claim", rec.Claim, "error", cerr)
	}
	if err != nil {
		rec.CopyError = err.Error()
		m.log.Warn("volume copy failed", "namespace", rec.Namespace, "claim", rec.Claim, "error", err)
		return rec
	}
	if res.Problems > 0 {
		rec.CopyError = fmt.Sprintf("%d entries of the volume could not be read (cairn files ls %s shows which)", res.Problems, res.FileSnapshot)
	}
	mode := corev1.PersistentVolumeFilesystem
	if isBlock(rec.VolumeMode) {
		mode = corev1.PersistentVolumeBlock
	}
	rec.Copy = &archive.VolumeCopy{FileSnapshot: res.FileSnapshot, Source: source, VolumeMode: string(mode),
		Files: res.Files, Bytes: res.Bytes, AddedBytes: res.AddedBytes, Seconds: m.opts.Now().Sub(began).Seconds(), Method: archive.CopyMethodSnapshot}
	m.log.Info("volume copied", "namespace", rec.Namespace, "claim", rec.Claim, "fileSnapshot", res.FileSnapshot,
		"bytes", res.Bytes, "addedBytes", res.AddedBytes, "seconds", rec.Copy.Seconds)
	return rec
}

// copyWith makes the secret, the snapshot's claim and the pod, registering each in undo.
func (m *Mover) copyWith(ctx context.Context, name, owner, source string, rec archive.VolumeRecord, undo *cleanup) (Result, error) {
	ns := m.opts.Namespace
	secrets := m.client.CoreV1().Secrets(ns)
	if _, err := secrets.Create(ctx, m.credentialSecret(name, owner), metav1.CreateOptions{}); err != nil {
		return Result{}, fmt.Errorf("create secret %s/%s: %w", ns, name, err)
	}
	undo.add(deleteFunc("secret", ns, name, secrets.Delete))
	prov, err := m.snaps.ProvisionAs(ctx, rec, ns, name, labels(owner))
	undo.add(func(ctx context.Context) error { return m.snaps.Release(ctx, prov) })
	if err != nil {
		return Result{}, fmt.Errorf("expose snapshot %s: %w", rec.Snapshot.Handle, err)
	}
	// A claim made before its snapshot is ready waits out the provisioner's retry backoff.
	if _, err := m.snaps.WaitReady(ctx, prov); err != nil {
		return Result{}, err
	}
	size := max(rec.Snapshot.RestoreSizeBytes, rec.CapacityBytes, 1)
	var class *string
	if rec.StorageClass != "" {
		class = &rec.StorageClass
	}
	group := snapshot.SnapshotResource.Group
	claim := m.claim(name, owner, class, *resource.NewQuantity(size, resource.BinarySI), nil, rec.VolumeMode,
		&corev1.TypedLocalObjectReference{APIGroup: &group, Kind: "VolumeSnapshot", Name: prov.Name})
	claims := m.client.CoreV1().PersistentVolumeClaims(ns)
	if _, err := claims.Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		return Result{}, fmt.Errorf("create claim %s/%s from the snapshot: %w", ns, name, err)
	}
	// The snapshot objects go after the claim made from them is gone: the snapshot controller keeps
	// a VolumeSnapshot a claim is made from until then.
	undo.add(m.deleteClaimAndWait(ns, name))
	data := claimData(name, true, rec.VolumeMode)
	pod := m.pod(name, owner, name, data, readCapabilities, m.backupArgs(owner, source, rec, data.path()))
	undo.add(deleteFunc("pod", ns, name, m.client.CoreV1().Pods(ns).Delete))
	return m.runPod(ctx, pod)
}

// readCapabilities are what a backup pod needs to read every file whatever its owner and mode.
var readCapabilities = []corev1.Capability{"DAC_OVERRIDE", "DAC_READ_SEARCH"}

// backupArgs run `cairn files backup` of the pod's data at path into the claim's history.
func (m *Mover) backupArgs(owner, source string, rec archive.VolumeRecord, path string) []string {
	return []string{"files", "backup", path, "--storage", m.opts.Storage, "--source", source,
		"--tag", "recovery-point=" + owner, "--tag", "namespace=" + rec.Namespace, "--tag", "claim=" + rec.Claim,
		"--result-file", resultPath}
}

// dropSnapshot deletes the snapshot read for the copy (copy mode) once the copy is made: the
// record keeps the copy alone. A volume whose copy failed keeps its snapshot, the only protection
// it has.
func (m *Mover) dropSnapshot(ctx context.Context, rec archive.VolumeRecord) archive.VolumeRecord {
	if rec.Snapshot == nil || rec.Copy == nil || rec.CopyError != "" {
		return rec
	}
	if _, err := m.snaps.Delete(context.WithoutCancel(ctx), []archive.VolumeRecord{rec}, nil); err != nil {
		m.log.Warn("snapshot read for the copy not deleted; it stays with the recovery point", "namespace", rec.Namespace, "claim", rec.Claim, "error", err)
		return rec
	}
	rec.Snapshot, rec.Outcome = nil, archive.VolumeCopied
	return rec
}
