package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// Volume modes: what a restore does with the volumes of claims the backup recorded.
const (
	VolumesData  = "data"
	VolumesEmpty = "empty"
	VolumesSkip  = "skip"
)

// Volume outcomes in a restore result.
const (
	VolumeRestored     = "Restored"
	VolumeWouldRestore = "WouldRestore"
	VolumeEmpty        = "Empty"
	VolumeSkipped      = "Skipped"
	VolumeFailed       = "Failed"
)

// VolumeResult is what a restore did with one claim's volume.
type VolumeResult struct {
	Namespace       string `json:"namespace"`
	Claim           string `json:"claim"`
	TargetNamespace string `json:"targetNamespace,omitempty"`
	// Source is where the data came from: snapshot or copy.
	Source       string  `json:"source,omitempty"`
	Snapshot     string  `json:"snapshot,omitempty"`
	FileSnapshot string  `json:"fileSnapshot,omitempty"`
	Bytes        int64   `json:"bytes,omitempty"`
	ReadySeconds float64 `json:"readySeconds,omitempty"`
	BoundSeconds float64 `json:"boundSeconds,omitempty"`
	Outcome      string  `json:"outcome"`
	Reason       string  `json:"reason,omitempty"`
}

// volumePlan is what the restore does with the backup's volume records.
type volumePlan struct {
	mode    string
	byClaim map[string]archive.VolumeRecord // source namespace/claim
	// skipPV names the PersistentVolumes not restored, with why.
	skipPV map[string]string

	mu      sync.Mutex
	pending map[string]*pendingClaim // target namespace/claim
	// static holds the claims restored with the volumeName of a volume restored as an object.
	static map[string]*staticClaim // target namespace/claim
	// ahead holds snapshots provisioned before their claims come up (provisionAhead).
	ahead map[string]snapshot.Provisioned
	// fills are claims created bound to volumes filled from copies (target namespace/claim).
	fills map[string]*pendingFill
	// drivers caches whether the target has a CSI driver.
	drivers map[string]bool
}

// pendingClaim is a claim created from a provisioned snapshot, waiting to be bound.
type pendingClaim struct {
	prov snapshot.Provisioned
	pendingVolume
}

// pendingVolume is the outcome of a claim the restore prepared a volume for, until the claim is
// applied and settled.
type pendingVolume struct {
	result  VolumeResult
	created bool
}

// applied notes how applying the claim went: a claim that was not created gets no volume.
func (p *pendingVolume) applied(action string) {
	p.created = action == ActionCreate
	if !p.created {
		p.result.Outcome, p.result.Reason = VolumeFailed, "the claim was not created"
	}
}

// staticClaim is a claim restored bound to a volume restored as an object (or kept), waiting to be
// bound to it again.
type staticClaim struct {
	namespace string
	volume    string
	result    VolumeResult
	created   time.Time // zero unless the restore created the claim
}

func newVolumePlan(mode string, records []archive.VolumeRecord) *volumePlan {
	v := &volumePlan{mode: mode, byClaim: map[string]archive.VolumeRecord{}, skipPV: map[string]string{}, pending: map[string]*pendingClaim{},
		static: map[string]*staticClaim{}, ahead: map[string]snapshot.Provisioned{}, fills: map[string]*pendingFill{}, drivers: map[string]bool{}}
	for _, r := range records {
		v.byClaim[r.Namespace+"/"+r.Claim] = r
	}
	return v
}

// notePV decides whether a backed-up PersistentVolume is restored: a volume whose claim gets a new
// volume (from its snapshot, or empty because its CSI volume died with the claim) is not.
func (v *volumePlan) notePV(item []byte) {
	var pv struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			CSI           *struct{} `json:"csi"`
			ReclaimPolicy string    `json:"persistentVolumeReclaimPolicy"`
			ClaimRef      *struct {
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
			} `json:"claimRef"`
		} `json:"spec"`
	}
	if json.Unmarshal(item, &pv) != nil || pv.Spec.ClaimRef == nil {
		return
	}
	rec, ok := v.byClaim[pv.Spec.ClaimRef.Namespace+"/"+pv.Spec.ClaimRef.Name]
	if !ok || rec.Volume != pv.Metadata.Name {
		return
	}
	switch {
	case v.mode == VolumesSkip:
		v.skipPV[rec.Volume] = "volumes are not restored (--volumes=skip)"
	case v.mode == VolumesData && rec.Protected():
		v.skipPV[rec.Volume] = fmt.Sprintf("claim %s/%s gets a new volume from %s", rec.Namespace, rec.Claim, protection(rec))
	case pv.Spec.CSI != nil && pv.Spec.ReclaimPolicy != string(corev1.PersistentVolumeReclaimRetain):
		v.skipPV[rec.Volume] = fmt.Sprintf("its CSI volume is deleted with its claim (reclaim policy %s): claim %s/%s gets a new empty volume", pv.Spec.ReclaimPolicy, rec.Namespace, rec.Claim)
	}
}

// prepareClaim adapts a claim about to be restored to the volume mode. It returns true when it
// has recorded the item's outcome itself (skipped or failed) and the claim must not be applied.
func (r *run) prepareClaim(ctx context.Context, srcNS string, obj *unstructured.Unstructured, item *ItemResult) bool {
	rec, ok := r.vols.byClaim[srcNS+"/"+obj.GetName()]
	if !ok {
		return false
	}
	ns, name := obj.GetNamespace(), obj.GetName()
	vr := VolumeResult{Namespace: srcNS, Claim: name}
	if ns != srcNS {
		vr.TargetNamespace = ns
	}
	done := func(action, outcome, reason string) bool {
		item.Action, item.Reason = action, reason
		vr.Outcome, vr.Reason = outcome, reason
		r.rec.add(*item)
		r.rec.volume(vr)
		return true
	}
	if r.vols.mode == VolumesSkip {
		return done(ActionSkip, VolumeSkipped, "volumes are not restored (--volumes=skip)")
	}
	if volume, _, _ := unstructured.NestedString(obj.Object, "spec", "volumeName"); volume != "" &&
		r.vols.mode == VolumesData && !rec.Protected() {
		r.keepStaticVolume(obj, vr, volume)
		return false
	}
	source, why := "", ""
	if r.vols.mode == VolumesData {
		source, why = r.dataSource(ctx, rec)
	}
	if source == "" {
		unstructured.RemoveNestedField(obj.Object, "spec", "volumeName")
		removeSnapshotSource(obj)
		vr.Outcome = VolumeEmpty
		vr.Reason = "created without data (--volumes=empty)"
		if r.vols.mode == VolumesData {
			vr.Reason = why
		}
		r.rec.volume(vr)
		return false
	}
	vr.Source = source
	_, err := r.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil && r.opts.ConflictPolicy == ConflictSkip:
		return done(ActionSkip, VolumeSkipped, "already exists in the target; its volume is left as it is")
	case err == nil:
		return done(ActionFail, VolumeFailed, fmt.Sprintf("claim %s/%s exists: restoring its volume data needs the claim gone "+
			"(delete it and the pods using it), or restore with --volumes=empty or --conflict-policy=skip", ns, name))
	case !apierrors.IsNotFound(err):
		return done(ActionFail, VolumeFailed, fmt.Sprintf("read claim %s/%s in the target: %v", ns, name, err))
	}
	if source == SourceCopy {
		return r.fillFromCopy(ctx, rec, obj, vr, done)
	}
	vr.Snapshot, vr.Bytes = rec.Snapshot.Handle, rec.Snapshot.RestoreSizeBytes
	if r.opts.DryRun {
		setSnapshotSource(obj, snapshot.RestoreName(r.opts.Name, ns, name))
		vr.Outcome, vr.Reason = VolumeWouldRestore, "would be created from snapshot "+rec.Snapshot.Handle
		r.rec.volume(vr)
		return false
	}
	if !r.snapshotAPIServed() {
		return done(ActionFail, VolumeFailed, "the target cluster does not serve the snapshot API (VolumeSnapshot CRDs and the "+
			"snapshot controller): install them and a CSI driver that reaches the snapshot, or restore with --volumes=empty")
	}
	prov, err := r.provisioned(ctx, rec, ns, name)
	if err != nil {
		return done(ActionFail, VolumeFailed, fmt.Sprintf("provision snapshot %s for the claim: %v", rec.Snapshot.Handle, err))
	}
	// Waiting here, rather than leaving it to the provisioner, spares the claim the provisioner's
	// retry backoff; the snapshot was usually made ahead and is ready by now.
	fallback := r.opts.VolumeSource == SourceAuto && rec.Copy != nil
	var ready time.Duration
	if fallback {
		ready, err = r.snapshots.TryReady(ctx, prov, snapshotTryTimeout)
	} else {
		ready, err = r.snapshots.WaitReady(ctx, prov)
	}
	if err != nil {
		if rerr := r.snapshots.Release(context.WithoutCancel(ctx), prov); rerr != nil {
			r.rec.warn(fmt.Sprintf("claim %s/%s: temporary snapshot objects not removed: %v", ns, name, rerr))
		}
		if fallback && ctx.Err() == nil {
			r.rec.warn(fmt.Sprintf("claim %s/%s: snapshot %s is not usable in the target (%v): its data comes from its copy", ns, name, rec.Snapshot.Handle, err))
			return r.fillFromCopy(ctx, rec, obj, vr, done)
		}
		return done(ActionFail, VolumeFailed, err.Error())
	}
	vr.ReadySeconds = ready.Seconds()
	setSnapshotSource(obj, prov.Name)
	r.vols.mu.Lock()
	r.vols.pending[ns+"/"+name] = &pendingClaim{prov: prov, pendingVolume: pendingVolume{result: vr}}
	r.vols.mu.Unlock()
	return false
}

// keepStaticVolume lets a claim without a snapshot keep the volume it was bound to, which the
// restore brings back as an object or finds in the target, and notes it to wait until bound.
func (r *run) keepStaticVolume(obj *unstructured.Unstructured, vr VolumeResult, volume string) {
	removeSnapshotSource(obj)
	vr.Outcome, vr.Reason = VolumeFailed, "the claim was not created"
	r.vols.mu.Lock()
	defer r.vols.mu.Unlock()
	r.vols.static[obj.GetNamespace()+"/"+obj.GetName()] = &staticClaim{namespace: obj.GetNamespace(), volume: volume, result: vr}
}

func (r *run) snapshotAPIServed() bool {
	_, _, err := r.served.resolve(snapshot.SnapshotResource)
	return err == nil
}

// claimApplied notes whether a claim prepared from a snapshot, or keeping its static volume, was
// created.
func (r *run) claimApplied(ns, name, action string) {
	r.vols.mu.Lock()
	defer r.vols.mu.Unlock()
	if p, ok := r.vols.pending[ns+"/"+name]; ok {
		p.applied(action)
	}
	if p, ok := r.vols.fills[ns+"/"+name]; ok {
		p.applied(action)
	}
	s, ok := r.vols.static[ns+"/"+name]
	if !ok {
		return
	}
	switch {
	case action == ActionFail:
	case action != ActionCreate && action != ActionRecreate:
		s.result.Outcome, s.result.Reason = VolumeSkipped, "the claim exists in the target; its volume is left as it is"
	case r.opts.DryRun:
		s.result.Outcome, s.result.Reason = VolumeWouldRestore, "would be bound again to its volume "+s.volume+" (no snapshot: the volume itself is kept)"
	default:
		s.created = r.opts.Now()
	}
}

// settleVolumes waits until every claim created from a snapshot is bound, records the outcome,
// and removes the VolumeSnapshots the restore made (their snapshots stay with the recovery point).
func (r *run) settleVolumes(ctx context.Context) {
	var wg sync.WaitGroup
	for key, prov := range r.vols.ahead {
		wg.Go(func() {
			if err := r.snapshots.Release(context.WithoutCancel(ctx), prov); err != nil {
				r.rec.warn(fmt.Sprintf("claim %s: temporary snapshot objects not removed: %v", key, err))
			}
		})
	}
	for _, p := range r.vols.fills {
		wg.Go(func() {
			r.settleFill(ctx, p)
			r.rec.volume(p.result)
		})
	}
	for key, p := range r.vols.pending {
		wg.Go(func() {
			if p.created {
				r.settleClaim(ctx, p)
			}
			if err := r.snapshots.Release(context.WithoutCancel(ctx), p.prov); err != nil {
				r.rec.warn(fmt.Sprintf("claim %s: temporary snapshot objects not removed: %v", key, err))
			}
			r.rec.volume(p.result)
		})
	}
	for _, s := range r.vols.static {
		wg.Go(func() {
			if !s.created.IsZero() {
				r.settleStatic(ctx, s)
			}
			r.rec.volume(s.result)
		})
	}
	wg.Wait()
}

// settleStatic waits until a claim that kept its static volume is bound to it.
func (r *run) settleStatic(ctx context.Context, s *staticClaim) {
	if err := r.waitBound(ctx, s.namespace, s.result.Claim); err != nil {
		s.result.Outcome, s.result.Reason = VolumeFailed, err.Error()
		return
	}
	s.result.Outcome, s.result.Reason = VolumeRestored, "bound again to its volume "+s.volume+" (no snapshot: the volume itself is kept)"
	s.result.BoundSeconds = r.opts.Now().Sub(s.created).Seconds()
}

// settleClaim waits until the claim is bound.
func (r *run) settleClaim(ctx context.Context, p *pendingClaim) {
	if err := r.waitBound(ctx, p.prov.Namespace, p.result.Claim); err != nil {
		p.result.Outcome, p.result.Reason = VolumeFailed, err.Error()
		return
	}
	p.result.Outcome, p.result.BoundSeconds = VolumeRestored, r.snapshots.Since(p.prov).Seconds()
}

// waitBound waits until the claim is bound, bounded by the snapshot timeout.
func (r *run) waitBound(ctx context.Context, ns, name string) error {
	timeout := r.snapshots.Timeout()
	state := "not found"
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		c, err := r.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		state = string(c.Status.Phase)
		return c.Status.Phase == corev1.ClaimBound, nil
	})
	if err != nil {
		return fmt.Errorf("claim %s/%s not bound after %s (phase %s): see `kubectl describe pvc -n %s %s` and the CSI provisioner's log",
			ns, name, timeout, state, ns, name)
	}
	return nil
}

func setSnapshotSource(obj *unstructured.Unstructured, snapshotName string) {
	unstructured.RemoveNestedField(obj.Object, "spec", "volumeName")
	unstructured.RemoveNestedField(obj.Object, "spec", "dataSourceRef")
	_ = unstructured.SetNestedMap(obj.Object, map[string]any{
		"apiGroup": snapshot.SnapshotResource.Group, "kind": "VolumeSnapshot", "name": snapshotName}, "spec", "dataSource")
}

// removeSnapshotSource drops a dataSource naming a VolumeSnapshot: the snapshot is not there to
// read, and the claim would stay Pending.
func removeSnapshotSource(obj *unstructured.Unstructured) {
	for _, field := range []string{"dataSource", "dataSourceRef"} {
		if kind, _, _ := unstructured.NestedString(obj.Object, "spec", field, "kind"); kind == "VolumeSnapshot" {
			unstructured.RemoveNestedField(obj.Object, "spec", field)
		}
	}
}
