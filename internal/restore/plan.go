package restore

import (
	"context"
	"encoding/json"
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
	// Claims keep their volumeName only if their volume is restored too.
	for _, g := range p.groups["persistentvolumes"] {
		err := b.ReadGroup(ctx, g, func(item []byte) error {
			name := itemName(item)
			r.vols.notePV(item)
			if _, skipped := r.vols.skipPV[name]; skipped {
				return nil
			}
			if p.deps == nil || p.deps.Has(scope.DepPV, name) {
				r.clean.restoredPVs[name] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return p, nil
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
			if !g.Namespaced {
				continue
			}
			err := b.ReadGroup(ctx, g, func(item []byte) error {
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

func itemName(item []byte) string {
	var h struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(item, &h)
	return h.Metadata.Name
}
