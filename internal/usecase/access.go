package usecase

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/scope"
)

// maxAccessChecks bounds the access reviews of the permissions check: past it, namespaced
// resources are checked across all namespaces instead of in each target namespace.
const maxAccessChecks = 100

// Access is one operation a restore needs, as an access review asks it.
type Access struct {
	Verb, Group, Resource, Subresource, Namespace string
}

func (x Access) String() string {
	r := x.Resource
	if x.Group != "" {
		r += "." + x.Group
	}
	if x.Subresource != "" {
		r += "/" + x.Subresource
	}
	where := " in namespace " + x.Namespace
	if x.Namespace == "" {
		where = ""
	}
	return x.Verb + " " + r + where
}

// neededAccess lists what the restore will do, by the resource types of the recovery point's index
// in the restore's scope: create each (in its target namespace), update or delete them under the
// patch or recreate conflict policies, create namespaces, and exec in pods for restore hooks.
func neededAccess(ix *archive.Index, opts restore.Options, hooks bool) []Access {
	verbs := []string{"create"}
	switch opts.ConflictPolicy {
	case restore.ConflictPatch:
		verbs = append(verbs, "update")
	case restore.ConflictRecreate:
		verbs = append(verbs, "delete")
	}
	sc := opts.Scope
	mode := sc.ClusterResourcesMode()
	set := map[Access]bool{{Verb: "create", Resource: "namespaces"}: true}
	targets := map[string]bool{}
	for _, g := range ix.Groups {
		gr := g.GroupResource()
		ns := ""
		switch {
		case gr == "namespaces":
		case !sc.ResourceIncluded(scope.Resource{Group: g.Group, Resource: g.Resource, Kind: g.Kind}):
			continue
		case g.Namespaced:
			if !sc.NamespaceIncluded(g.Namespace) {
				continue
			}
			ns = g.Namespace
			if to, ok := opts.NamespaceMapping[ns]; ok {
				ns = to
			}
			targets[ns] = true
		case mode == "none":
			continue
		case mode == "deps" && !slices.Contains(scope.DependencyResources, gr):
			continue
		}
		for _, v := range verbs {
			set[Access{Verb: v, Group: g.Group, Resource: g.Resource, Namespace: ns}] = true
		}
	}
	if hooks {
		for ns := range targets {
			set[Access{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: ns}] = true
		}
	}
	if len(set) > maxAccessChecks {
		wide := map[Access]bool{}
		for x := range set {
			x.Namespace = ""
			wide[x] = true
		}
		set = wide
	}
	out := make([]Access, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// missingAccess asks the apiserver, with self subject access reviews, which of needed the user of
// cfg may not do.
func missingAccess(ctx context.Context, cfg *rest.Config, needed []Access) ([]Access, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	allowed := make([]bool, len(needed))
	errs := make([]error, len(needed))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, x := range needed {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: x.Namespace, Verb: x.Verb,
					Group: x.Group, Resource: x.Resource, Subresource: x.Subresource}}}
			got, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				errs[i] = fmt.Errorf("review %s: %w", x, err)
				return
			}
			allowed[i] = got.Status.Allowed
		})
	}
	wg.Wait()
	var missing []Access
	for i, x := range needed {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if !allowed[i] {
			missing = append(missing, x)
		}
	}
	return missing, nil
}

// summarizeAccess lists up to ten operations.
func summarizeAccess(list []Access) string {
	var parts []string
	for i, x := range list {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(list)-i))
			break
		}
		parts = append(parts, x.String())
	}
	return strings.Join(parts, "; ")
}
