package usecase

import (
	"context"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/mover"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// SweepMovers removes what data movers in namespace left behind before the given time: pods,
// claims, secrets, snapshot objects and volumes handed to claims that were never created
// (docs/design/volumes.md, "Leftovers").
func (r *Runner) SweepMovers(ctx context.Context, namespace string, before time.Time) (mover.Swept, error) {
	r = r.withDefaults()
	snaps, err := r.Engines.Snapshotter(r.Config, snapshot.Options{Now: r.Now, Logger: r.Logger})
	if err != nil {
		return mover.Swept{}, err
	}
	m, err := r.dataMover(MoverOptions{Namespace: namespace}, Location{}, archive.Credential{}, snaps)
	if err != nil {
		return mover.Swept{}, err
	}
	return m.Sweep(ctx, before)
}
