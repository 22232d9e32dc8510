package main

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The mix of one namespace: 300 objects, so -namespaces 1000 makes the 300,000 of the benchmark.
// Pods are owned by ReplicaSets, ReplicaSets by Deployments, as a Deployment's controller leaves
// them (no controller runs in the benchmark's cluster, so they stay as made and pods unscheduled).
const (
	configMapsPerNS      = 60
	secretsPerNS         = 60
	serviceAccountsPerNS = 10
	rolesPerNS           = 10 // and as many RoleBindings
	servicesPerNS        = 10
	deploymentsPerNS     = 10 // each with one ReplicaSet of podsPerReplicaSet Pods
	podsPerReplicaSet    = 3
	customPerCRDPerNS    = 30
	objectsPerNamespace  = configMapsPerNS + secretsPerNS + serviceAccountsPerNS + 2*rolesPerNS + servicesPerNS +
		deploymentsPerNS*(2+podsPerReplicaSet) + customPerCRDPerNS*len(crdKinds)
	// Every bigEvery-th namespace holds one ConfigMap and one Secret near the 1 MiB object limit.
	bigEvery = 100
	bigBytes = 900 << 10
)

// crdKinds are the custom resource kinds the benchmark defines, in group bench.cairn.dev.
var crdKinds = [...]string{"Widget", "Gadget", "Gizmo"}

const crdGroup = "bench.cairn.dev"

// resource is a resource type the benchmark makes objects of.
type resource struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}

var (
	gvrConfigMaps      = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrSecrets         = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrServiceAccounts = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	gvrServices        = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrPods            = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	gvrNamespaces      = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrRoles           = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}
	gvrRoleBindings    = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}
	gvrDeployments     = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrReplicaSets     = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	gvrCRDs            = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

func customGVR(kind string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: crdGroup, Version: "v1", Resource: strings.ToLower(kind) + "s"}
}

// benchResources are every resource type the benchmark makes, as the raw LIST reads them.
func benchResources() []resource {
	rs := []resource{{gvrNamespaces, false}, {gvrCRDs, false}}
	for _, g := range []schema.GroupVersionResource{gvrConfigMaps, gvrSecrets, gvrServiceAccounts, gvrRoles, gvrRoleBindings,
		gvrServices, gvrDeployments, gvrReplicaSets, gvrPods} {
		rs = append(rs, resource{g, true})
	}
	for _, k := range crdKinds {
		rs = append(rs, resource{customGVR(k), true})
	}
	return rs
}

func namespaceName(i int) string { return fmt.Sprintf("bench-%04d", i) }

func object(apiVersion, kind, namespace, name string, labels map[string]any) *unstructured.Unstructured {
	meta := map[string]any{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	if labels != nil {
		meta["labels"] = labels
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}}
}

// payload is n bytes of text that differs by seed, so that nothing compresses to nothing.
func payload(seed, n int) string {
	var b strings.Builder
	b.Grow(n)
	for x := uint32(seed*2654435761 + 1); b.Len() < n; {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		fmt.Fprintf(&b, "%08x", x)
	}
	return b.String()[:n]
}

// dataSize is the size of the i-th ConfigMap's or Secret's data in namespace ns: mostly a few
// hundred bytes to 8 KiB, one in ten 16-64 KiB, and one near the limit in every bigEvery-th
// namespace.
func dataSize(ns, i int) int {
	switch {
	case i == 0 && ns%bigEvery == 0:
		return bigBytes
	case i%10 == 9:
		return 16<<10 + (ns*31+i*7)%(48<<10)
	default:
		return 200 + (ns*131+i*17)%(8<<10)
	}
}

func crd(kind string) *unstructured.Unstructured {
	plural := strings.ToLower(kind) + "s"
	o := object("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", plural+"."+crdGroup, nil)
	o.Object["spec"] = map[string]any{
		"group": crdGroup, "scope": "Namespaced",
		"names": map[string]any{"kind": kind, "plural": plural, "singular": strings.ToLower(kind), "listKind": kind + "List"},
		"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
			"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "properties": map[string]any{
				"spec": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}},
	}
	return o
}

// stage is objects that can be created together; a later stage may refer to an earlier one's
// objects (owner references need their owners' uids).
type stage []*unstructured.Unstructured

// namespaceObjects returns namespace ns's objects in three stages: everything without an owner,
// then ReplicaSets (owned by Deployments), then Pods (owned by ReplicaSets); owners fills in the
// uids of the stage before.
func namespaceObjects(ns int) []stage {
	name := namespaceName(ns)
	app := func(i int) map[string]any {
		return map[string]any{"app": fmt.Sprintf("app-%d", i), "tier": []string{"web", "api", "db"}[i%3]}
	}
	var first stage
	first = append(first, object("v1", "Namespace", "", name, map[string]any{"bench": "cluster"}))
	for i := range serviceAccountsPerNS {
		first = append(first, object("v1", "ServiceAccount", name, fmt.Sprintf("sa-%d", i), app(i)))
	}
	for i := range configMapsPerNS {
		o := object("v1", "ConfigMap", name, fmt.Sprintf("config-%03d", i), app(i))
		o.Object["data"] = map[string]any{"settings": payload(ns*1000+i, dataSize(ns, i))}
		first = append(first, o)
	}
	for i := range secretsPerNS {
		o := object("v1", "Secret", name, fmt.Sprintf("secret-%03d", i), app(i))
		o.Object["type"] = "Opaque"
		o.Object["stringData"] = map[string]any{"token": payload(ns*1000+500+i, dataSize(ns+1, i))}
		first = append(first, o)
	}
	for i := range rolesPerNS {
		role := object("rbac.authorization.k8s.io/v1", "Role", name, fmt.Sprintf("role-%d", i), app(i))
		role.Object["rules"] = []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps", "secrets"}, "verbs": []any{"get", "list", "watch"}}}
		binding := object("rbac.authorization.k8s.io/v1", "RoleBinding", name, fmt.Sprintf("role-%d", i), app(i))
		binding.Object["roleRef"] = map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": fmt.Sprintf("role-%d", i)}
		binding.Object["subjects"] = []any{map[string]any{"kind": "ServiceAccount", "name": fmt.Sprintf("sa-%d", i), "namespace": name}}
		first = append(first, role, binding)
	}
	for i := range servicesPerNS {
		o := object("v1", "Service", name, fmt.Sprintf("svc-%d", i), app(i))
		// Headless: the local cluster's service range would run out of addresses.
		o.Object["spec"] = map[string]any{"clusterIP": "None", "selector": map[string]any{"app": fmt.Sprintf("app-%d", i)},
			"ports": []any{map[string]any{"name": "http", "port": int64(80), "targetPort": int64(8080)}}}
		first = append(first, o)
	}
	for i := range deploymentsPerNS {
		o := object("apps/v1", "Deployment", name, fmt.Sprintf("app-%d", i), app(i))
		o.Object["spec"] = map[string]any{"replicas": int64(podsPerReplicaSet),
			"selector": map[string]any{"matchLabels": map[string]any{"app": fmt.Sprintf("app-%d", i)}},
			"template": podTemplate(app(i), i)}
		first = append(first, o)
	}
	for _, kind := range crdKinds {
		for i := range customPerCRDPerNS {
			o := object(crdGroup+"/v1", kind, name, fmt.Sprintf("%s-%03d", strings.ToLower(kind), i), app(i))
			o.Object["spec"] = map[string]any{"size": int64(i), "owner": fmt.Sprintf("team-%d", i%7), "notes": payload(ns+i, 100+i*10)}
			first = append(first, o)
		}
	}
	var sets, pods stage
	for i := range deploymentsPerNS {
		labels := app(i)
		labels["pod-template-hash"] = fmt.Sprintf("h%d", i)
		rs := object("apps/v1", "ReplicaSet", name, fmt.Sprintf("app-%d-h%d", i, i), labels)
		rs.Object["spec"] = map[string]any{"replicas": int64(podsPerReplicaSet),
			"selector": map[string]any{"matchLabels": map[string]any{"app": fmt.Sprintf("app-%d", i), "pod-template-hash": fmt.Sprintf("h%d", i)}},
			"template": podTemplate(labels, i)}
		setOwner(rs, "apps/v1", "Deployment", fmt.Sprintf("app-%d", i))
		sets = append(sets, rs)
		for p := range podsPerReplicaSet {
			pod := object("v1", "Pod", name, fmt.Sprintf("app-%d-h%d-p%d", i, i, p), labels)
			pod.Object["spec"] = podTemplate(labels, i)["spec"]
			setOwner(pod, "apps/v1", "ReplicaSet", rs.GetName())
			pods = append(pods, pod)
		}
	}
	return []stage{first, sets, pods}
}

func podTemplate(labels map[string]any, i int) map[string]any {
	return map[string]any{
		"metadata": map[string]any{"labels": labels},
		"spec": map[string]any{"serviceAccountName": fmt.Sprintf("sa-%d", i%serviceAccountsPerNS),
			"containers": []any{map[string]any{"name": "app", "image": fmt.Sprintf("registry.example/app-%d:1.%d", i, i),
				"ports": []any{map[string]any{"containerPort": int64(8080)}},
				"env":   []any{map[string]any{"name": "MODE", "value": "production"}}}}},
	}
}

// setOwner records a controller owner reference without its uid, which the create fills in.
func setOwner(o *unstructured.Unstructured, apiVersion, kind, name string) {
	o.Object["metadata"].(map[string]any)["ownerReferences"] = []any{map[string]any{
		"apiVersion": apiVersion, "kind": kind, "name": name, "controller": true, "blockOwnerDeletion": true}}
}

// gvrOf is the resource an object of the benchmark is created as.
func gvrOf(o *unstructured.Unstructured) schema.GroupVersionResource {
	switch o.GetKind() {
	case "Namespace":
		return gvrNamespaces
	case "ConfigMap":
		return gvrConfigMaps
	case "Secret":
		return gvrSecrets
	case "ServiceAccount":
		return gvrServiceAccounts
	case "Service":
		return gvrServices
	case "Pod":
		return gvrPods
	case "Role":
		return gvrRoles
	case "RoleBinding":
		return gvrRoleBindings
	case "Deployment":
		return gvrDeployments
	case "ReplicaSet":
		return gvrReplicaSets
	case "CustomResourceDefinition":
		return gvrCRDs
	}
	return customGVR(o.GetKind())
}
