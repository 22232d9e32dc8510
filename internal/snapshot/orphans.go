package snapshot

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
