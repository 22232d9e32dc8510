package kube

import "k8s.io/apimachinery/pkg/runtime/schema"

// CollectionPath is the API path of the objects of gvr, in namespace ns or, with ns "", across
// the cluster (or of a cluster-scoped resource).
func CollectionPath(gvr schema.GroupVersionResource, ns string) string {
	p := "/apis/" + gvr.Group + "/" + gvr.Version
	if gvr.Group == "" {
		p = "/api/" + gvr.Version
	}
	if ns != "" {
		p += "/namespaces/" + ns
	}
	return p + "/" + gvr.Resource
}
