package mover

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Swept counts what a sweep removed.
type Swept struct {
	Pods, Claims, Secrets, SnapshotObjects, Volumes int
}

// Total is everything removed.
func (s Swept) Total() int { return s.Pods + s.Claims + s.Secrets + s.SnapshotObjects + s.Volumes }

// Sweep removes what earlier movers left behind (a killed process, a lost connection): every
// labelled object of the mover namespace made before the given time, and the volumes handed to a
// claim that was never created. A handed-over volume whose claim is bound gets its reclaim
// policy back.
func (m *Mover) Sweep(ctx context.Context, before time.Time) (Swept, error) {
	var s Swept
	var errs []error
	ns := m.opts.Namespace
	opts := metav1.ListOptions{LabelSelector: LabelMover}
	old := func(o metav1.Object) bool { return o.GetCreationTimestamp().Time.Before(before) }
	zero := int64(0)
	del := metav1.DeleteOptions{GracePeriodSeconds: &zero}
	count := func(n *int, err error) {
		switch {
		case err == nil:
			*n++
		case !apierrors.IsNotFound(err):
			errs = append(errs, err)
		}
	}
	if pods, err := m.client.CoreV1().Pods(ns).List(ctx, opts); err != nil {
		errs = append(errs, fmt.Errorf("list mover pods: %w", err))
	} else {
		for _, p := range pods.Items {
			if old(&p) {
				count(&s.Pods, m.client.CoreV1().Pods(ns).Delete(ctx, p.Name, del))
			}
		}
	}
	if claims, err := m.client.CoreV1().PersistentVolumeClaims(ns).List(ctx, opts); err != nil {
		errs = append(errs, fmt.Errorf("list mover claims: %w", err))
	} else {
		var deleted []string
		for _, c := range claims.Items {
			if old(&c) {
				count(&s.Claims, m.client.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, c.Name, del))
				deleted = append(deleted, c.Name)
			}
		}
		// The snapshot objects go after the claims made from them (see copyWith).
		if err := m.waitClaimsGone(ctx, ns, deleted); err != nil {
			errs = append(errs, err)
		}
	}
	if secrets, err := m.client.CoreV1().Secrets(ns).List(ctx, opts); err != nil {
		errs = append(errs, fmt.Errorf("list mover secrets: %w", err))
	} else {
		for _, sec := range secrets.Items {
			if old(&sec) {
				count(&s.Secrets, m.client.CoreV1().Secrets(ns).Delete(ctx, sec.Name, del))
			}
		}
	}
	if m.snaps != nil {
		n, err := m.snaps.ReleaseLabelled(ctx, ns, LabelMover, before)
		s.SnapshotObjects = n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if pvs, err := m.client.CoreV1().PersistentVolumes().List(ctx, opts); err != nil {
		errs = append(errs, fmt.Errorf("list handed-over volumes: %w", err))
	} else {
		for _, pv := range pvs.Items {
			if !old(&pv) {
				continue
			}
			if pv.Status.Phase == corev1.VolumeBound {
				if err := m.patchVolume(ctx, pv.Name, settlePatch(&pv)); err != nil {
					errs = append(errs, err)
				}
				continue
			}
			count(&s.Volumes, m.discardVolume(ctx, pv.Name, pv.Annotations[annotationReclaim]))
		}
	}
	return s, errors.Join(errs...)
}

// waitClaimsGone waits (bounded) until the named claims of namespace ns are gone.
func (m *Mover) waitClaimsGone(ctx context.Context, ns string, names []string) error {
	claims := m.client.CoreV1().PersistentVolumeClaims(ns)
	left := names
	err := wait.PollUntilContextTimeout(ctx, m.opts.Poll, claimGoneTimeout, true, func(ctx context.Context) (bool, error) {
		var still []string
		for _, n := range left {
			if _, err := claims.Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				still = append(still, n)
			}
		}
		left = still
		return len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("claims %v of namespace %s not gone after %s: %w", left, ns, claimGoneTimeout, err)
	}
	return nil
}
