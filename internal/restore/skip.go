package restore

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// controllerKinds are owners whose controllers rebuild what they own: restoring a Pod of a
// ReplicaSet, or a ReplicaSet of a Deployment, would only make a duplicate for the controller to
// delete.
var controllerKinds = map[string]bool{
	"apps/ReplicaSet": true, "apps/Deployment": true, "apps/StatefulSet": true, "apps/DaemonSet": true,
	"batch/Job": true, "batch/CronJob": true,
}

// skipReason says why an item is not restored, or "" if it is.
func skipReason(groupResource string, obj *unstructured.Unstructured, selectorServices map[string]bool) string {
	for _, ref := range obj.GetOwnerReferences() {
		gv, _ := schema.ParseGroupVersion(ref.APIVersion)
		if ref.Controller != nil && *ref.Controller && controllerKinds[gv.Group+"/"+ref.Kind] {
			return "its owner " + ref.Kind + "/" + ref.Name + " recreates it"
		}
		if ref.Kind == "Node" {
			return "it belongs to a node"
		}
	}
	labels, annotations := obj.GetLabels(), obj.GetAnnotations()
	switch groupResource {
	case "pods":
		if _, mirror := annotations["kubernetes.io/config.mirror"]; mirror {
			return "it is a static pod's mirror"
		}
	case "configmaps":
		if obj.GetName() == "kube-root-ca.crt" {
			return "the cluster makes it in every namespace"
		}
	case "secrets":
		if isAutoToken(obj) {
			return "the cluster makes service account tokens itself"
		}
	case "endpoints":
		if selectorServices[obj.GetNamespace()+"/"+obj.GetName()] {
			return "the endpoints controller rebuilds it for its Service"
		}
	case "endpointslices.discovery.k8s.io":
		if m := labels["endpointslice.kubernetes.io/managed-by"]; m == "endpointslice-controller.k8s.io" || m == "endpointslicemirroring-controller.k8s.io" {
			return "the endpoint slice controller rebuilds it for its Service"
		}
	case "apiservices.apiregistration.k8s.io":
		if labels["kube-aggregator.kubernetes.io/automanaged"] != "" {
			return "the apiserver manages it"
		}
	case "flowschemas.flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations.flowcontrol.apiserver.k8s.io":
		if annotations["apf.kubernetes.io/autoupdate-spec"] == "true" {
			return "the apiserver manages it"
		}
	case "clusterroles.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io",
		"roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io":
		if labels["kubernetes.io/bootstrapping"] == "rbac-defaults" {
			return "the apiserver maintains its bootstrap RBAC"
		}
	case "priorityclasses.scheduling.k8s.io":
		if strings.HasPrefix(obj.GetName(), "system-") {
			return "the apiserver maintains system priority classes"
		}
	}
	return ""
}

// isAutoToken tells a token Secret the cluster made for a ServiceAccount (named <sa>-token-xxxxx)
// from one a user made.
func isAutoToken(obj *unstructured.Unstructured) bool {
	typ, _, _ := unstructured.NestedString(obj.Object, "type")
	if typ != "kubernetes.io/service-account-token" {
		return false
	}
	sa := obj.GetAnnotations()["kubernetes.io/service-account.name"]
	return sa != "" && strings.HasPrefix(obj.GetName(), sa+"-token-")
}
