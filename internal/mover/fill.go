package mover

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cairnbackup/cairn/internal/snapshot"
)

// FillRequest is a claim to restore from its copy.
type FillRequest struct {
	// Restore names the restore (the owner label of the objects made).
	Restore string
	// Namespace and Claim are the restored claim's, in the target.
	Namespace, Claim string
	// StorageClass is the class of the new volume; nil takes the target's default class.
	StorageClass *string
	Size         resource.Quantity
	AccessModes  []corev1.PersistentVolumeAccessMode
	// VolumeMode is the restored claim's: Filesystem (when empty) or Block, which takes the
	// image of a Block volume's copy.
	VolumeMode   string
	FileSnapshot string
}

// Filled is a volume filled from a copy and handed to its claim-to-be.
type Filled struct {
	// Volume is the PersistentVolume; the restored claim names it in volumeName.
	Volume string
	// StorageClass is the volume's class, which the claim must name to bind to it.
	StorageClass string
	Result       Result
}

// Fill makes a volume holding the copy's files, pre-bound to the claim the restore creates next
// (docs/design/volumes.md, "Restore from the copy"). On error nothing it made is left.
func (m *Mover) Fill(ctx context.Context, req FillRequest) (Filled, error) {
	if err := m.ready(); err != nil {
		return Filled{}, err
	}
	release, err := m.slot(ctx)
	if err != nil {
		return Filled{}, err
	}
	defer release()
	name := snapshot.ObjectName("cairn-fill", req.Restore, req.Namespace, req.Claim)
	var undo cleanup
	f, err := m.fillWith(ctx, name, req, &undo)
	if cerr := undo.run(ctx); cerr != nil {
		m.log.Warn("data mover objects not all removed; the next sweep removes them", "namespace", req.Namespace, "claim", req.Claim, "error", cerr)
	}
	return f, err
}

func (m *Mover) fillWith(ctx context.Context, name string, req FillRequest, undo *cleanup) (Filled, error) {
	ns := m.opts.Namespace
	secrets := m.client.CoreV1().Secrets(ns)
	if _, err := secrets.Create(ctx, m.credentialSecret(name, req.Restore), metav1.CreateOptions{}); err != nil {
		return Filled{}, fmt.Errorf("create secret %s/%s: %w", ns, name, err)
	}
	undo.add(deleteFunc("secret", ns, name, secrets.Delete))
	claims := m.client.CoreV1().PersistentVolumeClaims(ns)
	if _, err := claims.Create(ctx, m.claim(name, req.Restore, req.StorageClass, req.Size, req.AccessModes, req.VolumeMode, nil), metav1.CreateOptions{}); err != nil {
		return Filled{}, fmt.Errorf("create claim %s/%s to fill: %w", ns, name, err)
	}
	undo.add(deleteFunc("claim", ns, name, claims.Delete))
	pods := m.client.CoreV1().Pods(ns)
	data := claimData(name, false, req.VolumeMode)
	args := []string{"files", "restore", req.FileSnapshot, data.path(), "--storage", m.opts.Storage, "--result-file", resultPath}
	pod := m.pod(name, req.Restore, name, data,
		[]corev1.Capability{"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "MKNOD"}, args)
	removePod := deleteFunc("pod", ns, name, pods.Delete)
	undo.add(removePod)
	res, err := m.runPod(ctx, pod)
	if err != nil {
		return Filled{}, err
	}
	if res.Problems > 0 {
		return Filled{}, fmt.Errorf("%d entries of file snapshot %s were not restored whole", res.Problems, req.FileSnapshot)
	}
	if err := removePod(ctx); err != nil {
		return Filled{}, err
	}
	f, err := m.handOver(ctx, name, req, undo)
	f.Result = res
	return f, err
}

// handOver keeps the filled volume past its fill claim and pre-binds it to the restored claim.
func (m *Mover) handOver(ctx context.Context, name string, req FillRequest, undo *cleanup) (Filled, error) {
	ns := m.opts.Namespace
	claims := m.client.CoreV1().PersistentVolumeClaims(ns)
	c, err := claims.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Filled{}, fmt.Errorf("read claim %s/%s: %w", ns, name, err)
	}
	pvName := c.Spec.VolumeName
	pvs := m.client.CoreV1().PersistentVolumes()
	pv, err := pvs.Get(ctx, pvName, metav1.GetOptions{})
	if err != nil {
		return Filled{}, fmt.Errorf("read the filled volume %q: %w", pvName, err)
	}
	if err := m.patchVolume(ctx, pvName, map[string]any{
		"metadata": map[string]any{"labels": labels(req.Restore), "annotations": map[string]any{annotationReclaim: string(pv.Spec.PersistentVolumeReclaimPolicy)}},
		"spec":     map[string]any{"persistentVolumeReclaimPolicy": string(corev1.PersistentVolumeReclaimRetain)},
	}); err != nil {
		return Filled{}, err
	}
	policy := string(pv.Spec.PersistentVolumeReclaimPolicy)
	undo.add(func(ctx context.Context) error { return m.discardVolume(ctx, pvName, policy) })
	if err := claims.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return Filled{}, fmt.Errorf("delete fill claim %s/%s: %w", ns, name, err)
	}
	if err := m.waitClaimsGone(ctx, ns, []string{name}, m.opts.Timeout); err != nil {
		return Filled{}, err
	}
	if err := m.patchVolume(ctx, pvName, map[string]any{"spec": map[string]any{"claimRef": map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": req.Namespace, "name": req.Claim,
		"uid": nil, "resourceVersion": nil,
	}}}); err != nil {
		return Filled{}, err
	}
	*undo = (*undo)[:len(*undo)-1] // the volume is the restored claim's now; Discard drops it if unused
	return Filled{Volume: pvName, StorageClass: pv.Spec.StorageClassName}, nil
}

// Settle gives a filled volume back its reclaim policy once its claim is bound to it.
func (m *Mover) Settle(ctx context.Context, f Filled) error {
	pv, err := m.client.CoreV1().PersistentVolumes().Get(ctx, f.Volume, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read the filled volume %q: %w", f.Volume, err)
	}
	return m.patchVolume(ctx, f.Volume, settlePatch(pv))
}

func settlePatch(pv *corev1.PersistentVolume) map[string]any {
	patch := map[string]any{"metadata": map[string]any{
		"labels": map[string]any{LabelMover: nil}, "annotations": map[string]any{annotationReclaim: nil}}}
	if policy := pv.Annotations[annotationReclaim]; policy != "" {
		patch["spec"] = map[string]any{"persistentVolumeReclaimPolicy": policy}
	}
	return patch
}

// Discard gives up a filled volume whose claim was not created: it is released to its class's
// reclaim policy.
func (m *Mover) Discard(ctx context.Context, f Filled) error {
	pv, err := m.client.CoreV1().PersistentVolumes().Get(ctx, f.Volume, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the filled volume %q: %w", f.Volume, err)
	}
	return m.discardVolume(context.WithoutCancel(ctx), f.Volume, pv.Annotations[annotationReclaim])
}

// discardVolume releases a volume nobody will claim: its reclaim policy back to policy, and a
// claim reference no claim has, so that the volume controller sees it released and reclaims it
// (deleting a PersistentVolume object itself would leave the storage behind).
func (m *Mover) discardVolume(ctx context.Context, name, policy string) error {
	if policy == "" {
		policy = string(corev1.PersistentVolumeReclaimDelete)
	}
	return m.patchVolume(ctx, name, map[string]any{"spec": map[string]any{
		"persistentVolumeReclaimPolicy": policy,
		"claimRef":                      map[string]any{"uid": "cairn-discarded-" + name},
	}})
}

func (m *Mover) patchVolume(ctx context.Context, name string, patch map[string]any) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encode patch: %w", err)
	}
	if _, err := m.client.CoreV1().PersistentVolumes().Patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch volume %s: %w", name, err)
	}
	return nil
}
