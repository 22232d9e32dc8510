package restore

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/mover"
)

// Where a volume's data comes from (Options.VolumeSource).
const (
	SourceAuto     = "auto"
	SourceSnapshot = "snapshot"
	SourceCopy     = "copy"
)

// snapshotTryTimeout bounds the wait for a snapshot in auto mode when a copy can take its place:
// a snapshot the target does not reach never becomes ready.
const snapshotTryTimeout = 2 * time.Minute

// pendingFill is a claim created bound to a volume filled from its copy.
type pendingFill struct {
	filled mover.Filled
	pendingVolume
}

// protection names what holds a recorded volume's data.
func protection(rec archive.VolumeRecord) string {
	if rec.Snapshot != nil {
		return "snapshot " + rec.Snapshot.Handle
	}
	if rec.Copy != nil {
		return "copy " + rec.Copy.FileSnapshot
	}
	return "nothing"
}

// dataSource decides where a claim's data comes from, or says why it has none.
func (r *run) dataSource(ctx context.Context, rec archive.VolumeRecord) (string, string) {
	if !rec.Protected() {
		return "", "the backup holds no snapshot or copy of this volume (" + rec.Outcome + ": " + rec.Reason + ")"
	}
	switch r.opts.VolumeSource {
	case SourceSnapshot:
		if rec.Snapshot == nil {
			return "", "the backup holds no snapshot of this volume, only its copy: restore with --volume-source=copy or auto"
		}
		return SourceSnapshot, ""
	case SourceCopy:
		if rec.Copy == nil {
			return "", "the backup holds no copy of this volume (back up with --volume-data=copy or snapshot+copy), only its snapshot: restore with --volume-source=snapshot or auto"
		}
		return SourceCopy, ""
	}
	if rec.Snapshot != nil && (rec.Copy == nil || r.reachesSnapshot(ctx, rec.Driver)) {
		return SourceSnapshot, ""
	}
	return SourceCopy, ""
}

// reachesSnapshot reports whether the target has the snapshot's CSI driver and serves the
// snapshot API: the storage system that holds the snapshot is there.
func (r *run) reachesSnapshot(ctx context.Context, driver string) bool {
	if !r.snapshotAPIServed() {
		return false
	}
	r.vols.mu.Lock()
	defer r.vols.mu.Unlock()
	has, ok := r.vols.drivers[driver]
	if !ok {
		_, err := r.client.StorageV1().CSIDrivers().Get(ctx, driver, metav1.GetOptions{})
		has = err == nil
		r.vols.drivers[driver] = has
	}
	return has
}

// fillFromCopy restores the claim's data from its copy; it returns whether it recorded the
// claim's outcome itself (a failure) through done.
func (r *run) fillFromCopy(ctx context.Context, rec archive.VolumeRecord, obj *unstructured.Unstructured, vr VolumeResult,
	done func(action, outcome, reason string) bool) bool {
	vr.Source, vr.Snapshot = SourceCopy, ""
	vr.FileSnapshot, vr.Bytes = rec.Copy.FileSnapshot, rec.Copy.Bytes
	if reason, failed := r.fillClaim(ctx, rec, obj, vr); failed {
		return done(ActionFail, VolumeFailed, reason)
	}
	return false
}

// fillClaim fills a new volume from the claim's copy and points the claim at it. It returns the
// reason when it failed (nothing is then left of the attempt).
func (r *run) fillClaim(ctx context.Context, rec archive.VolumeRecord, obj *unstructured.Unstructured, vr VolumeResult) (string, bool) {
	ns, name := obj.GetNamespace(), obj.GetName()
	if r.opts.DryRun {
		vr.Outcome, vr.Reason = VolumeWouldRestore, "would be filled from copy "+rec.Copy.FileSnapshot
		removeSnapshotSource(obj)
		r.rec.volume(vr)
		return "", false
	}
	if r.opts.Mover == nil {
		return "restoring a volume from its copy runs data mover pods: name their image with --mover-image", true
	}
	mode, _, _ := unstructured.NestedString(obj.Object, "spec", "volumeMode")
	if block := string(corev1.PersistentVolumeBlock); (rec.Copy.VolumeMode == block) != (mode == block) {
		return fmt.Sprintf("copy %s is of a %s volume but the claim asks for volumeMode %q: restore it with its recorded volume mode",
			rec.Copy.FileSnapshot, rec.Copy.VolumeMode, mode), true
	}
	req := mover.FillRequest{Restore: r.opts.Name, Namespace: ns, Claim: name, FileSnapshot: rec.Copy.FileSnapshot,
		StorageClass: r.targetClass(ctx, obj), Size: claimSize(obj, rec), VolumeMode: mode}
	modes, _, _ := unstructured.NestedStringSlice(obj.Object, "spec", "accessModes")
	for _, m := range modes {
		req.AccessModes = append(req.AccessModes, corev1.PersistentVolumeAccessMode(m))
	}
	f, err := r.opts.Mover.Fill(ctx, req)
	if err != nil {
		return fmt.Sprintf("fill a new volume from copy %s: %v", rec.Copy.FileSnapshot, err), true
	}
	removeSnapshotSource(obj)
	_ = unstructured.SetNestedField(obj.Object, f.Volume, "spec", "volumeName")
	_ = unstructured.SetNestedField(obj.Object, f.StorageClass, "spec", "storageClassName")
	vr.Bytes = f.Result.Bytes
	r.vols.mu.Lock()
	r.vols.fills[ns+"/"+name] = &pendingFill{filled: f, pendingVolume: pendingVolume{result: vr}}
	r.vols.mu.Unlock()
	return "", false
}

// targetClass is the class of the claim's new volume: its (mapped) class when the target has it,
// else the target's default class (nil), with a warning.
func (r *run) targetClass(ctx context.Context, obj *unstructured.Unstructured) *string {
	class, found, _ := unstructured.NestedString(obj.Object, "spec", "storageClassName")
	if !found || class == "" {
		return nil
	}
	_, err := r.client.StorageV1().StorageClasses().Get(ctx, class, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		r.rec.warn(fmt.Sprintf("claim %s/%s: storage class %q does not exist in the target; its volume is filled in the default class (map classes with --storage-class-mapping)",
			obj.GetNamespace(), obj.GetName(), class))
		return nil
	}
	return &class
}

// claimSize is the claim's requested storage, else the recorded capacity.
func claimSize(obj *unstructured.Unstructured, rec archive.VolumeRecord) resource.Quantity {
	if s, found, _ := unstructured.NestedString(obj.Object, "spec", "resources", "requests", "storage"); found {
		if q, err := resource.ParseQuantity(s); err == nil {
			return q
		}
	}
	return *resource.NewQuantity(max(rec.CapacityBytes, rec.Copy.Bytes, 1), resource.BinarySI)
}

// settleFill waits until a filled claim is bound and gives its volume back its reclaim policy;
// a fill whose claim was not created is given up.
func (r *run) settleFill(ctx context.Context, p *pendingFill) {
	if !p.created {
		if err := r.opts.Mover.Discard(ctx, p.filled); err != nil {
			r.rec.warn(fmt.Sprintf("claim %s/%s: filled volume %s not released: %v", p.result.Namespace, p.result.Claim, p.filled.Volume, err))
		}
		return
	}
	ns := p.result.Namespace
	if p.result.TargetNamespace != "" {
		ns = p.result.TargetNamespace
	}
	if err := r.waitBound(ctx, ns, p.result.Claim); err != nil {
		p.result.Outcome, p.result.Reason = VolumeFailed, err.Error()
		return
	}
	if err := r.opts.Mover.Settle(context.WithoutCancel(ctx), p.filled); err != nil {
		r.rec.warn(fmt.Sprintf("claim %s/%s: %v", ns, p.result.Claim, err))
	}
	p.result.Outcome, p.result.ReadySeconds = VolumeRestored, p.filled.Result.Seconds
}
