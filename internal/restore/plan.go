package restore

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/scope"
)

// plan is what a restore will read: the groups in scope, by resource in restore order, and the
// namespaces the restored items need in the target.
type plan struct {
	order            []string
	groups           map[string][]archive.IndexGroup
	targetNamespaces []string
	sourceNamespaces map[string]bool
	// deps, in "deps" mode, names the cluster-scoped objects the restored items need.
	deps *scope.Dependencies
	mode string
}

func (r *run) plan(ctx context.Context, b *archive.Backup, ix *archive.Index) (*plan, error) {
	p := &plan{groups: map[string][]archive.IndexGroup{}, sourceNamespaces: map[string]bool{}, mode: r.scope.ClusterResourcesMode()}
	custom := map[string]bool{}
	targets := map[string]bool{}
	for _, g := range ix.Groups {
		gr := g.GroupResource()
		res := scope.Resource{Group: g.Group, Resource: g.Resource, Kind: g.Kind}
		switch {
		case gr == "namespaces":
			// Namespace objects follow the namespaces in scope, not the resource filters.
		case !r.scope.ResourceIncluded(res):
			continue
		case g.Namespaced:
			if !r.scope.NamespaceIncluded(g.Namespace) {
				continue
			}
			p.sourceNamespaces[g.Namespace] = true
			targets[r.mapper.namespace(g.Namespace)] = true
		case p.mode == "none":
			continue
		case p.mode == "deps" && !isDependency(gr):
			continue
		}
		if _, seen := p.groups[gr]; !seen {
			p.order = append(p.order, gr)
			custom[gr] = !scope.BuiltinGroup(g.Group)
		}
		p.groups[gr] = append(p.groups[gr], g)
	}
	p.order = resourceOrder(p.order, custom, r.opts.ResourceOrder)
	for ns := range targets {
		p.targetNamespaces = append(p.targetNamespaces, ns)
	}
	if p.mode == "deps" {
		deps, err := r.collectDependencies(ctx, b, p)
		if err != nil {
			return nil, err
		}
		p.deps = deps
	}
	if err := r.planVolumes(ctx, b, p); err != nil {
		return nil, err
	}
	return p, nil
}

// planVolumes decides which backed-up PersistentVolumes are restored and which the claims keep as
// their volumeName: those restored, unless the target holds one of that name for another claim.
func (r *run) planVolumes(ctx context.Context, b *archive.Backup, p *plan) error {
	groups := p.groups["persistentvolumes"]
	if len(groups) == 0 {
		return nil
	}
	claims, err := r.restoredClaims(ctx, b, p)
	if err != nil {
		return err
	}
	live, err := r.liveVolumes(ctx)
	if err != nil {
		return err
	}
	for _, g := range groups {
		err := b.ReadGroup(ctx, g, func(item []byte) error {
			r.vols.notePV(item)
			pv := readBackedUpPV(item, r.mapper)
			if _, skipped := r.vols.skipPV[pv.name]; skipped || (p.deps != nil && !p.deps.Has(scope.DepPV, pv.name)) {
				return nil
			}
			keep, err := r.static.note(ctx, r.client, pv, live[pv.name], claims)
			r.clean.restoredPVs[pv.name] = keep
			return err
		})
		if err != nil {
			return err
		}
	}
	r.static.warnRefused(claims, r.rec)
	return nil
}

func isDependency(groupResource string) bool {
	for _, d := range scope.DependencyResources {
		if d == groupResource {
			return true
		}
	}
	return false
}

// collectDependencies reads the namespaced items in scope to learn which cluster-scoped objects
// they need: when a restore is scoped to namespaces, only those come along.
func (r *run) collectDependencies(ctx context.Context, b *archive.Backup, p *plan) (*scope.Dependencies, error) {
	deps := scope.NewDependencies()
	for _, gr := range p.order {
		for _, g := range p.groups[gr] {
			if !g.Namespaced || !deps.Learns(g.Group, g.Resource) {
				continue
			}
			err := b.ReadGroup(ctx, g, func(item []byte) error {
				if !deps.Learns(g.Group, g.Resource) {
					return nil // a custom resource whose CRD an earlier item noted
				}
				obj := &unstructured.Unstructured{}
				if err := obj.UnmarshalJSON(item); err != nil {
					return fmt.Errorf("decode %s item: %w", gr, err)
				}
				if r.wanted(obj) {
					deps.Note(g.Group, g.Resource, item)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return deps, nil
}
