package backup

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/scope"
)

// captureClusterScoped captures the Namespace objects of the namespaces in scope and, by the
// scope's mode, every cluster-scoped resource ("all"), only what the namespaced items depend on
// ("deps"), or nothing else ("none").
func (b *run) captureClusterScoped(ctx context.Context, w *archive.BackupWriter, resources []resource, namespaces []string) {
	mode := b.scope.ClusterResourcesMode()
	byName := map[string]resource{}
	var tasks []task
	for _, r := range resources {
		if r.namespaced {
			continue
		}
		byName[r.groupResource()] = r
		if r.groupResource() == "namespaces" {
			tasks = append(tasks, task{r: r})
			continue
		}
		if mode == "all" && b.scope.ResourceIncluded(r.scopeResource()) {
			tasks = append(tasks, task{r: r})
		}
	}
	captured := scope.NewDependencies() // what the listings took, so dependencies are not taken twice
	wantNamespace := b.namespaceObjectFilter(namespaces)
	selector, _ := b.scope.SingleSelector()
	b.parallel(ctx, w, tasks, func(ctx context.Context, s *archive.Sink, t task) error {
		key := groupKey(t.r)
		isNS := t.r.groupResource() == "namespaces"
		sel := selector
		if isNS {
			sel = ""
		}
		return b.lister.each(ctx, t.r, "", sel, func(raw []byte, h itemHead) error {
			if isNS && !wantNamespace(h.Metadata.Name) {
				return nil
			}
			if !isNS && (!b.scope.Selected(h.Metadata.Labels) || scope.Excluded(h.Metadata.Annotations, h.Metadata.Labels)) {
				return nil
			}
			captured.Add(t.r.groupResource(), h.Metadata.Name)
			return b.add(ctx, s, key, false, t.r, raw, h)
		})
	})
	if mode == "none" {
		return
	}
	var depTasks []task
	for _, gr := range scope.DependencyResources {
		r, ok := byName[gr]
		if !ok {
			continue
		}
		for _, name := range b.deps.Names(gr) {
			if !captured.Has(gr, name) {
				depTasks = append(depTasks, task{r: r, name: name})
			}
		}
	}
	b.parallel(ctx, w, depTasks, func(ctx context.Context, s *archive.Sink, t task) error {
		raw, h, err := b.lister.get(ctx, t.r, t.name)
		if apierrors.IsNotFound(err) {
			b.addWarning(fmt.Sprintf("%s %q is referenced by a backed-up object but does not exist", t.r.groupResource(), t.name))
			return nil
		}
		if err != nil {
			return fmt.Errorf("get %s %q: %w", t.r.groupResource(), t.name, err)
		}
		return b.add(ctx, s, groupKey(t.r), false, t.r, raw, h)
	})
}

// namespaceObjectFilter decides which Namespace objects to capture: those in scope, and with label
// selectors only those that hold a captured item or were named explicitly.
func (b *run) namespaceObjectFilter(namespaces []string) func(string) bool {
	inScope := map[string]bool{}
	for _, n := range namespaces {
		inScope[n] = true
	}
	explicit, _ := b.scope.ExplicitNamespaces()
	hasSelector := len(b.scope.Spec().LabelSelectors) > 0
	return func(name string) bool {
		if !inScope[name] {
			return false
		}
		if !hasSelector || slices.Contains(explicit, name) {
			return true
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.namespaces[name]
	}
}

func groupKey(r resource) archive.GroupKey {
	return archive.GroupKey{Group: r.gvr.Group, Version: r.gvr.Version, Resource: r.gvr.Resource, Kind: r.kind}
}

func (b *run) addWarning(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.warnings = append(b.warnings, msg)
}
