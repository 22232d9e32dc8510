package mover

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	core := m.client.CoreV1()
	if pods, err := core.Pods(ns).List(ctx, opts); err != nil {
		errs = append(errs, fmt.Errorf("list mover pods: %w", err))
	} else {
		errs = append(errs, deleteOlder(ctx, pods.Items, before, core.Pods(ns).Delete, &s.Pods)...)
	}
	if claims, err := core.PersistentVolumeClaims(ns).List(ctx, opts); err != nil {
		errs = append(errs, fmt.Errorf("list mover claims: %w", err))
	} else {
		deleted := names(claims.Items, before)
		errs = append(errs, deleteOlder(ctx, claims.Items, before, core.PersistentVolumeClaims(ns).Delete, &s.Claims)...)
		// The snapshot objects go after the claims made from them (see copyWith).
		if err := m.waitClaimsGone(ctx, ns, deleted, claimGoneTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	if secrets, err := core.Secrets(ns).List(ctx, opts); err != nil {
		errs = append(errs, fmt.Errorf("list mover secrets: %w", err))
	} else {
		errs = append(errs, deleteOlder(ctx, secrets.Items, before, core.Secrets(ns).Delete, &s.Secrets)...)
	}
	if m.snaps != nil {
		n, err := m.snaps.ReleaseLabelled(ctx, ns, LabelMover, before)
		s.SnapshotObjects = n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if pvs, err := core.PersistentVolumes().List(ctx, opts); err != nil {
		errs = append(errs, fmt.Errorf("list handed-over volumes: %w", err))
	} else {
		for _, pv := range pvs.Items {
			switch {
			case !pv.CreationTimestamp.Time.Before(before):
			case pv.Status.Phase == corev1.VolumeBound:
				if err := m.patchVolume(ctx, pv.Name, settlePatch(&pv)); err != nil {
					errs = append(errs, err)
				}
			default:
				switch err := m.discardVolume(ctx, pv.Name, pv.Annotations[annotationReclaim]); {
				case err == nil:
					s.Volumes++
				case !apierrors.IsNotFound(err):
					errs = append(errs, err)
				}
			}
		}
	}
	return s, errors.Join(errs...)
}

// object is a listed item whose pointer is a Kubernetes object.
type object[T any] interface {
	*T
	metav1.Object
}

// names lists the items made before the given time.
func names[T any, P object[T]](items []T, before time.Time) []string {
	var out []string
	for i := range items {
		if o := P(&items[i]); o.GetCreationTimestamp().Time.Before(before) {
			out = append(out, o.GetName())
		}
	}
	return out
}

// deleteOlder deletes, at once, the items made before the given time and counts them in n; one
// already gone counts as nothing.
func deleteOlder[T any, P object[T]](ctx context.Context, items []T, before time.Time,
	del func(context.Context, string, metav1.DeleteOptions) error, n *int) []error {
	zero := int64(0)
	var errs []error
	for _, name := range names[T, P](items, before) {
		switch err := del(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); {
		case err == nil:
			*n++
		case !apierrors.IsNotFound(err):
			errs = append(errs, err)
		}
	}
	return errs
}
