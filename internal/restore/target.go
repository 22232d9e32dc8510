package restore

import (
	"errors"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// served is what the target cluster serves: every version of every resource, and each group's
// preferred version. It is refreshed after CRDs are restored.
type served struct {
	disc discovery.DiscoveryInterface

	mu         sync.RWMutex
	resources  map[schema.GroupVersionResource]bool // → namespaced
	byResource map[schema.GroupResource]schema.GroupVersionResource
	kinds      map[schema.GroupKind]schema.GroupVersionResource
	// planned is what the CRDs a dry run would create would serve (→ namespaced): the target
	// does not serve it yet, so the dry run cannot ask the API server about those items.
	planned map[schema.GroupVersionResource]bool
}

func newServed(disc discovery.DiscoveryInterface) (*served, error) {
	s := &served{disc: disc}
	return s, s.refresh()
}

func (s *served) refresh() error {
	groups, lists, err := discovery.ServerGroupsAndResources(s.disc)
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return fmt.Errorf("discover the target cluster's resource types: %w", err)
	}
	preferred := map[string]string{}
	for _, g := range groups {
		preferred[g.Name] = g.PreferredVersion.Version
	}
	resources := map[schema.GroupVersionResource]bool{}
	byResource := map[schema.GroupResource]schema.GroupVersionResource{}
	kinds := map[schema.GroupKind]schema.GroupVersionResource{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			gvr := gv.WithResource(r.Name)
			resources[gvr] = r.Namespaced
			if gv.Version == preferred[gv.Group] {
				byResource[gvr.GroupResource()] = gvr
				if r.Kind != "" {
					kinds[schema.GroupKind{Group: gv.Group, Kind: r.Kind}] = gvr
				}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resources, s.byResource, s.kinds = resources, byResource, kinds
	return nil
}

// crdResource is the group-resource of CustomResourceDefinitions, restored before the custom
// resources they define.
const crdResource = "customresourcedefinitions.apiextensions.k8s.io"

var errNotServed = errors.New("not served by the target cluster")

// resolve returns the version to restore a backed-up resource at: its own if the target serves it,
// else the target's preferred version of the same group and resource.
func (s *served) resolve(gvr schema.GroupVersionResource) (schema.GroupVersionResource, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if namespaced, ok := s.resources[gvr]; ok {
		return gvr, namespaced, nil
	}
	if alt, ok := s.byResource[gvr.GroupResource()]; ok {
		return alt, s.resources[alt], nil
	}
	return gvr, false, fmt.Errorf("%s (%s) is %w (install its CRD or API first)", gvr.GroupResource(), gvr.GroupVersion(), errNotServed)
}

// serves tells whether the target serves gvr at that very version.
func (s *served) serves(gvr schema.GroupVersionResource) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.resources[gvr]
	return ok
}

// plan records the resources a CRD that a dry run would create serves.
func (s *served) plan(crd *unstructured.Unstructured) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	scope, _, _ := unstructured.NestedString(crd.Object, "spec", "scope")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.planned == nil {
		s.planned = map[schema.GroupVersionResource]bool{}
	}
	for _, v := range versions {
		m, _ := v.(map[string]any)
		name, _ := m["name"].(string)
		if served, _ := m["served"].(bool); served && name != "" {
			s.planned[schema.GroupVersionResource{Group: group, Version: name, Resource: plural}] = scope == "Namespaced"
		}
	}
}

// wouldServe reports whether a CRD a dry run would create serves the resource, at its own
// version or another of its group.
func (s *served) wouldServe(gvr schema.GroupVersionResource) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for p := range s.planned {
		if p.GroupResource() == gvr.GroupResource() {
			return true
		}
	}
	return false
}

// forKind returns the resource serving a kind, for owner references.
func (s *served) forKind(gk schema.GroupKind) (schema.GroupVersionResource, bool, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	gvr, ok := s.kinds[gk]
	return gvr, s.resources[gvr], ok
}
