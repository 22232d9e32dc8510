package restore

import (
	"slices"
	"sort"
	"strings"
)

// defaultOrder lists the resource types restored first, in this order: what others refer to comes
// before what refers to it. Types not listed follow, built-in ones by name, then custom resources.
var defaultOrder = []string{
	crdResource,
	"namespaces",
	"storageclasses.storage.k8s.io",
	"volumesnapshotclasses.snapshot.storage.k8s.io",
	"persistentvolumes",
	"persistentvolumeclaims",
	"priorityclasses.scheduling.k8s.io",
	"clusterroles.rbac.authorization.k8s.io",
	"clusterrolebindings.rbac.authorization.k8s.io",
	"serviceaccounts",
	"roles.rbac.authorization.k8s.io",
	"rolebindings.rbac.authorization.k8s.io",
	"secrets",
	"configmaps",
	"limitranges",
	"resourcequotas",
	"ingressclasses.networking.k8s.io",
	"networkpolicies.networking.k8s.io",
	"services",
	"endpoints",
	"endpointslices.discovery.k8s.io",
	"pods",
	"replicasets.apps",
	"deployments.apps",
	"statefulsets.apps",
	"daemonsets.apps",
	"jobs.batch",
	"cronjobs.batch",
	"horizontalpodautoscalers.autoscaling",
	"poddisruptionbudgets.policy",
	"ingresses.networking.k8s.io",
}

// resourceOrder sorts group-resources for restore; first, if given, replaces the head of the
// default order.
func resourceOrder(present []string, custom map[string]bool, first []string) []string {
	order := defaultOrder
	if len(first) > 0 {
		order = append(slices.Clone(first), defaultOrder...)
	}
	rank := map[string]int{}
	for i, r := range order {
		if _, seen := rank[r]; !seen {
			rank[r] = i
		}
	}
	out := slices.Clone(present)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return ra < rb
		case oka != okb:
			return oka
		case custom[a] != custom[b]:
			return !custom[a]
		}
		return strings.Compare(a, b) < 0
	})
	return out
}
