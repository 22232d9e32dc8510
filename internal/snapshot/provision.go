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
	created                  time.Time
}

// RestoreName is the name of the VolumeSnapshot a restore makes for a claim in namespace ns.
func RestoreName(restore, ns, claim string) string {
	return ObjectName("cairn-restore-"+restore, ns, claim)
}

// Provision makes, in namespace ns, a VolumeSnapshot bound to a new pre-provisioned content for
// the recorded snapshot (so it works in any cluster whose driver reaches the snapshot). It does not
// wait: a claim may name the VolumeSnapshot at once, the provisioner waits until it is ready (see
// WaitReady). The content is Retain: releasing it never deletes the snapshot.
func (s *Snapshotter) Provision(ctx context.Context, restore string, rec archive.VolumeRecord, ns, claim string) (Provisioned, error) {
	return s.ProvisionAs(ctx, rec, ns, RestoreName(restore, ns, claim), map[string]string{LabelRestore: restore})
}

// ProvisionAs is Provision with the VolumeSnapshot's name and the labels of both objects chosen
// by the caller (the data mover's); the exclude label is always added.
func (s *Snapshotter) ProvisionAs(ctx context.Context, rec archive.VolumeRecord, ns, name string, extra map[string]string) (Provisioned, error) {
	if rec.Snapshot == nil {
		return Provisioned{}, fmt.Errorf("claim %s/%s has no snapshot in its recovery point", rec.Namespace, rec.Claim)
	}
	began := s.opts.Now()
	p := Provisioned{Namespace: ns, Name: name}
	p.Content = ObjectName(p.Name, "content", ns)
	labels := map[string]any{scope.ExcludeAnnotation: "true"}
	for k, v := range extra {
		labels[k] = v
	}
	cont := PreProvisionedContent(map[string]any{"name": p.Content, "labels": labels}, rec.Driver, rec.Snapshot.Handle, ns, p.Name)
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
	p.created = began
	return p, nil
}

// PreProvisionedContent is a Retain VolumeSnapshotContent of the driver's snapshot handle, to be
// bound to VolumeSnapshot ns/snapshot.
func PreProvisionedContent(metadata map[string]any, driver, handle, ns, snapshot string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
		"metadata": metadata,
		"spec": map[string]any{
			"deletionPolicy":    "Retain",
			"driver":            driver,
			"source":            map[string]any{"snapshotHandle": handle},
			"volumeSnapshotRef": map[string]any{"namespace": ns, "name": snapshot},
		},
	}}
}

// WaitReady waits until a provisioned VolumeSnapshot is ready to use and returns how long it took
// since it was made.
func (s *Snapshotter) WaitReady(ctx context.Context, p Provisioned) (time.Duration, error) {
	if _, err := s.waitReady(ctx, p.Namespace, p.Name, s.opts.Timeout, false); err != nil {
		return 0, err
	}
	return s.Since(p), nil
}

// TryReady is WaitReady for a caller with another way to the data: it gives up at the first error
// the snapshot reports, or after timeout.
func (s *Snapshotter) TryReady(ctx context.Context, p Provisioned, timeout time.Duration) (time.Duration, error) {
	if _, err := s.waitReady(ctx, p.Namespace, p.Name, min(timeout, s.opts.Timeout), true); err != nil {
		return 0, err
	}
	return s.Since(p), nil
}

// Since is the time since Provision made p.
func (s *Snapshotter) Since(p Provisioned) time.Duration { return s.opts.Now().Sub(p.created) }

// Release deletes the VolumeSnapshot and content Provision made; the snapshot itself stays with its
// recovery point (the content is Retain). It does not wait for the snapshot controller to finish.
func (s *Snapshotter) Release(ctx context.Context, p Provisioned) error {
	var errs []error
	if err := s.dyn.Resource(SnapshotResource).Namespace(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete VolumeSnapshot %s/%s: %w", p.Namespace, p.Name, err))
	}
	if err := s.dyn.Resource(ContentResource).Delete(ctx, p.Content, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete VolumeSnapshotContent %s: %w", p.Content, err))
	}
	return errors.Join(errs...)
}
