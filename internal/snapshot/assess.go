package snapshot

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/cairnbackup/cairn/internal/archive"
)

// Assessment is what a backup would do with one claim, decided as Protect decides, without
// snapshotting it.
type Assessment struct {
	Namespace, Claim string
	// Class is the VolumeSnapshotClass its snapshot would use (empty: not snapshotted).
	Class string
	// Unprotected is set when the claim could not be protected the way the backup asks: it
	// cannot be snapshotted and is not opted in to the file-system backup. Reason says why.
	Unprotected bool
	// Reason says why a claim is not snapshotted (not bound, a policy rule, no class...).
	Reason string
}

// Assess decides, for each claim, what a backup would do with it (instance validation). optIn is
// as Protect's. A snapshot class named in the options that does not exist is an error.
func (s *Snapshotter) Assess(ctx context.Context, claims []corev1.PersistentVolumeClaim, optIn func(corev1.PersistentVolumeClaim) bool) ([]Assessment, error) {
	classes, err := s.loadClasses(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := classes.driverOf[s.opts.Class]; s.opts.Class != "" && !ok {
		return nil, fmt.Errorf("snapshot class %q does not exist in the cluster: create it or name another with --snapshot-class", s.opts.Class)
	}
	out := make([]Assessment, 0, len(claims))
	for _, c := range claims {
		rec, class, r := s.assess(ctx, c, classes)
		a := Assessment{Namespace: c.Namespace, Claim: c.Name, Class: class, Reason: rec.Reason}
		a.Unprotected = r == routeNoSnapshot && (optIn == nil || !optIn(c)) || rec.Outcome == archive.VolumeFailed
		out = append(out, a)
	}
	return out, nil
}
