package restore

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// provisionAhead makes the VolumeSnapshots of every claim the restore may create from a snapshot
// as soon as the target namespaces exist, all at once, so that the snapshots become ready while
// the other objects are restored. A claim that already exists gets none (its conflict is decided
// when it comes up); one that a filter then leaves out has its snapshot released at the end.
func (r *run) provisionAhead(ctx context.Context, p *plan) {
	if r.opts.DryRun || r.vols.mode != VolumesData || len(p.groups["persistentvolumeclaims"]) == 0 || !r.snapshotAPIServed() {
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.opts.Parallelism)
	for _, rec := range r.vols.byClaim {
		if rec.Outcome != archive.VolumeSnapshotted || !p.sourceNamespaces[rec.Namespace] {
			continue
		}
		if source, _ := r.dataSource(ctx, rec); source != SourceSnapshot {
			continue
		}
		ns := r.mapper.namespace(rec.Namespace)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := r.client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, rec.Claim, metav1.GetOptions{}); err == nil {
				return
			}
			prov, err := r.snapshots.Provision(ctx, r.opts.Name, rec, ns, rec.Claim)
			if err != nil {
				r.log.Warn("snapshot not provisioned ahead; retried with its claim", "namespace", ns, "claim", rec.Claim, "error", err)
				return
			}
			r.vols.mu.Lock()
			r.vols.ahead[ns+"/"+rec.Claim] = prov
			r.vols.mu.Unlock()
		})
	}
	wg.Wait()
}

// provisioned returns the snapshot made ahead for the claim, or makes it now.
func (r *run) provisioned(ctx context.Context, rec archive.VolumeRecord, ns, claim string) (snapshot.Provisioned, error) {
	r.vols.mu.Lock()
	prov, ok := r.vols.ahead[ns+"/"+claim]
	delete(r.vols.ahead, ns+"/"+claim)
	r.vols.mu.Unlock()
	if ok {
		return prov, nil
	}
	return r.snapshots.Provision(ctx, r.opts.Name, rec, ns, claim)
}
