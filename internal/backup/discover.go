package backup

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/cairnbackup/cairn/internal/scope"
)

// resource is one served resource type a backup may capture.
type resource struct {
	gvr        schema.GroupVersionResource
	kind       string
	singular   string
	namespaced bool
}

func (r resource) scopeResource() scope.Resource {
	return scope.Resource{Group: r.gvr.Group, Resource: r.gvr.Resource, Singular: r.singular, Kind: r.kind}
}

func (r resource) groupResource() string { return r.scopeResource().GroupResource() }

// discoverResources lists every served, listable resource at its group's preferred version.
// A group whose discovery fails (an aggregated API that is down) becomes a warning, not a failure.
func discoverResources(disc discovery.DiscoveryInterface) ([]resource, []string, error) {
	lists, err := discovery.ServerPreferredResources(disc)
	var warnings []string
	if err != nil {
		var groupErr *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &groupErr) || len(lists) == 0 {
			return nil, nil, fmt.Errorf("discover the cluster's resource types: %w", err)
		}
		for gv, gerr := range groupErr.Groups {
			warnings = append(warnings, fmt.Sprintf("API group %s could not be discovered and is not backed up: %v", gv, gerr))
		}
		slices.Sort(warnings)
	}
	var out []resource
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			return nil, nil, fmt.Errorf("discovery returned group version %q: %w", l.GroupVersion, err)
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerbs(r, "list", "get") {
				continue
			}
			out = append(out, resource{
				gvr:        gv.WithResource(r.Name),
				kind:       r.Kind,
				singular:   r.SingularName,
				namespaced: r.Namespaced,
			})
		}
	}
	slices.SortFunc(out, func(a, b resource) int { return strings.Compare(a.groupResource(), b.groupResource()) })
	return out, warnings, nil
}

func hasVerbs(r metav1.APIResource, verbs ...string) bool {
	for _, v := range verbs {
		if !slices.Contains(r.Verbs, v) {
			return false
		}
	}
	return true
}
