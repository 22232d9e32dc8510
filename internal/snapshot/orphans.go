package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cairnbackup/cairn/internal/archive"
)

// DeleteUnrecorded deletes the snapshots a backup took but never recorded (it stopped before its
// manifest was written): the contents labelled with its repository and name.
func (s *Snapshotter) DeleteUnrecorded(ctx context.Context, owner Owner) (int, error) {
	sel := labels.SelectorFromSet(labels.Set{LabelRepository: owner.Repository, LabelRecoveryPoint: owner.RecoveryPoint})
	list, err := s.dyn.Resource(ContentResource).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if apierrors.IsNotFound(err) {
		return 0, nil // no snapshot API in this cluster: no snapshot can have been taken in it
	}
	if err != nil {
		return 0, fmt.Errorf("list the snapshots of backup %q: %w", owner.RecoveryPoint, err)
	}
	var errs []error
	n := 0
	for _, item := range list.Items {
		cont, err := decode[content](&item)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := s.deleteContent(ctx, cont.Metadata.Name, cont.handle()); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// ClusterID is the uid of the cluster's kube-system namespace, which recovery points record: it
// tells whether this is the cluster that holds a recovery point's snapshot contents.
func (s *Snapshotter) ClusterID(ctx context.Context) (string, error) {
	ns, err := s.client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("identify the cluster: %w", err)
	}
	return string(ns.UID), nil
}

// HoldsSnapshotsOf fails unless this cluster is the one the recovery point took its snapshots in.
func (s *Snapshotter) HoldsSnapshotsOf(ctx context.Context, rp archive.RecoveryPoint) error {
	id, err := s.ClusterID(ctx)
	if err != nil {
		return err
	}
	if rp.Cluster.ClusterID != "" && id != rp.Cluster.ClusterID {
		return fmt.Errorf("the snapshots of backup %q are in the cluster it was taken from (%s, id %s), but the kubeconfig points at another cluster (id %s): use --kubeconfig/--context of that cluster",
			rp.Name, rp.Cluster.Server, rp.Cluster.ClusterID, id)
	}
	return nil
}

// ReleaseLabelled deletes the VolumeSnapshots in namespace ns and the contents carrying label key
// (any value) that were made before: objects Provision made for a process that died. The contents
// are Retain, so the snapshots themselves stay.
func (s *Snapshotter) ReleaseLabelled(ctx context.Context, ns, key string, before time.Time) (int, error) {
	opts := metav1.ListOptions{LabelSelector: key}
	n := 0
	var errs []error
	for _, api := range []dynamicLister{s.dyn.Resource(SnapshotResource).Namespace(ns), s.dyn.Resource(ContentResource)} {
		list, err := api.List(ctx, opts)
		if apierrors.IsNotFound(err) {
			continue // no snapshot API: nothing was provisioned
		}
		if err != nil {
			return n, fmt.Errorf("list labelled snapshot objects: %w", err)
		}
		for _, item := range list.Items {
			if !item.GetCreationTimestamp().Time.Before(before) {
				continue
			}
			if err := api.Delete(ctx, item.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete %s %s: %w", item.GetKind(), item.GetName(), err))
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}

// dynamicLister is the part of a dynamic resource client ReleaseLabelled uses.
type dynamicLister interface {
	List(ctx context.Context, opts metav1.ListOptions) (*unstructured.UnstructuredList, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions, subresources ...string) error
}
