package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/scope"
)

// Provisioned is a VolumeSnapshot made for a restore: a claim's dataSource names it.
type Provisioned struct {
	Namespace, Name, Content string
	ReadyIn                  time.Duration
}

// RestoreName is the name of the VolumeSnapshot a restore makes for a claim in namespace ns.
func RestoreName(restore, ns, claim string) string {
	return objectName("cairn-restore-"+restore, ns, claim)
}

// Provision makes, in namespace ns, a VolumeSnapshot bound to a new pre-provisioned content for
// the recorded snapshot (so it works in any cluster whose driver reaches the snapshot) and waits
// until it is ready to use. The content is Retain: releasing it never deletes the snapshot.
func (s *Snapshotter) Provision(ctx context.Context, restore string, rec archive.VolumeRecord, ns, claim string) (Provisioned, error) {
	if rec.Snapshot == nil {
		return Provisioned{}, fmt.Errorf("claim %s/%s has no snapshot in its recovery point", rec.Namespace, rec.Claim)
	}
	began := s.opts.Now()
	p := Provisioned{Namespace: ns, Name: RestoreName(restore, ns, claim)}
	p.Content = objectName(p.Name, "content", ns)
	labels := map[string]any{LabelRestore: restore, scope.ExcludeAnnotation: "true"}
	cont := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
		"metadata": map[string]any{"name": p.Content, "labels": labels},
		"spec": map[string]any{
			"deletionPolicy":    "Retain",
			"driver":            rec.Driver,
			"source":            map[string]any{"snapshotHandle": rec.Snapshot.Handle},
			"volumeSnapshotRef": map[string]any{"namespace": ns, "name": p.Name},
		},
	}}
	if _, err := s.dyn.Resource(ContentResource).Create(ctx, cont, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return p, fmt.Errorf("create VolumeSnapshotContent %s for snapshot %s: %w", p.Content, rec.Snapshot.Handle, err)
	}
	vs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": p.Name, "namespace": ns, "labels": labels},
		"spec":     map[string]any{"source": map[string]any{"volumeSnapshotContentName": p.Content}},
	}}
	if _, err := s.dyn.Resource(SnapshotResource).Namespace(ns).Create(ctx, vs, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return p, errors.Join(fmt.Errorf("create VolumeSnapshot %s/%s: %w", ns, p.Name, err), s.Release(context.WithoutCancel(ctx), p))
	}
	if _, err := s.waitReady(ctx, ns, p.Name); err != nil {
		return p, errors.Join(err, s.Release(context.WithoutCancel(ctx), p))
	}
	p.ReadyIn = s.opts.Now().Sub(began)
	return p, nil
}

// Release deletes the VolumeSnapshot and content Provision made; the snapshot itself stays with its
// recovery point.
func (s *Snapshotter) Release(ctx context.Context, p Provisioned) error {
	var errs []error
	if err := s.deleteSnapshotObject(ctx, p.Namespace, p.Name); err != nil {
		errs = append(errs, err)
	}
	res := s.dyn.Resource(ContentResource)
	if err := res.Delete(ctx, p.Content, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete VolumeSnapshotContent %s: %w", p.Content, err))
	}
	err := s.waitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := res.Get(ctx, p.Content, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("VolumeSnapshotContent %s not removed: %w", p.Content, err))
	}
	return errors.Join(errs...)
}
