// Package convert turns backed-up objects of API versions a cluster no longer serves into a
// version it serves, where Kubernetes defines the conversion: the beta versions removed in 1.16
// to 1.32 (Ingress, CronJob, PodDisruptionBudget, HorizontalPodAutoscaler, EndpointSlice,
// FlowSchema and PriorityLevelConfiguration, RBAC, storage, scheduling and node types,
// CustomResourceDefinition and the admission webhook configurations). A kind
// removed without a successor (PodSecurityPolicy) is named with what replaced it. The restore
// engine asks For when the target does not serve an item's version, and records what it did.
package convert

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Conversion turns objects of one removed version of a kind into a served one.
type Conversion struct {
	From schema.GroupVersionKind
	// To is the version the object is restored at, and Resource its resource there.
	To       schema.GroupVersionKind
	Resource string
	// Removed, when set, says the kind has no successor and what to use instead: the object
	// cannot be restored.
	Removed string
	// fields rewrites the object's fields (nil: the schemas are the same).
	fields func(obj map[string]any) error
}

// Apply converts obj, of c.From, to c.To in place.
func (c Conversion) Apply(obj *unstructured.Unstructured) error {
	if c.Removed != "" {
		return fmt.Errorf("%s %s was removed from Kubernetes without a successor: %s", c.From.GroupVersion(), c.From.Kind, c.Removed)
	}
	if c.fields != nil {
		if err := c.fields(obj.Object); err != nil {
			return fmt.Errorf("convert %s %s to %s: %w", c.From.GroupVersion(), c.From.Kind, c.To.GroupVersion(), err)
		}
	}
	obj.SetAPIVersion(c.To.GroupVersion().String())
	obj.SetKind(c.To.Kind)
	return nil
}

// GroupVersionResource is where the converted object is restored.
func (c Conversion) GroupVersionResource() schema.GroupVersionResource {
	return c.To.GroupVersion().WithResource(c.Resource)
}

// String says what the conversion does, for restore results: "extensions/v1beta1 Ingress →
// networking.k8s.io/v1".
func (c Conversion) String() string {
	return fmt.Sprintf("%s %s → %s", c.From.GroupVersion(), c.From.Kind, c.To.GroupVersion())
}

// For returns the conversion of objects of gvk, if Kubernetes defines one.
func For(gvk schema.GroupVersionKind) (Conversion, bool) {
	c, ok := conversions[gvk]
	return c, ok
}

// conversions is the table, by the removed version's kind.
var conversions = map[schema.GroupVersionKind]Conversion{}

// add registers conversions of kind from each of the versions to to (in the same group unless
// from names one), with fields (nil: same schema).
func add(to schema.GroupVersionKind, resource string, fields func(map[string]any) error, from ...schema.GroupVersion) {
	for _, gv := range from {
		f := gv.WithKind(to.Kind)
		conversions[f] = Conversion{From: f, To: to, Resource: resource, fields: fields}
	}
}

func gv(group, version string) schema.GroupVersion {
	return schema.GroupVersion{Group: group, Version: version}
}

func init() {
	networking, extensions := "networking.k8s.io", "extensions"
	add(gv(networking, "v1").WithKind("Ingress"), "ingresses", ingressFromBeta, gv(extensions, "v1beta1"), gv(networking, "v1beta1"))
	add(gv(networking, "v1").WithKind("IngressClass"), "ingressclasses", nil, gv(networking, "v1beta1"))
	add(gv(networking, "v1").WithKind("NetworkPolicy"), "networkpolicies", nil, gv(extensions, "v1beta1"))
	for kind, resource := range map[string]string{"Deployment": "deployments", "DaemonSet": "daemonsets", "ReplicaSet": "replicasets"} {
		add(gv("apps", "v1").WithKind(kind), resource, workloadFromBeta, gv(extensions, "v1beta1"), gv("apps", "v1beta2"), gv("apps", "v1beta1"))
	}
	add(gv("apps", "v1").WithKind("StatefulSet"), "statefulsets", workloadFromBeta, gv("apps", "v1beta1"), gv("apps", "v1beta2"))
	add(gv("batch", "v1").WithKind("CronJob"), "cronjobs", nil, gv("batch", "v1beta1"), gv("batch", "v2alpha1"))
	add(gv("policy", "v1").WithKind("PodDisruptionBudget"), "poddisruptionbudgets", nil, gv("policy", "v1beta1"))
	add(gv("autoscaling", "v2").WithKind("HorizontalPodAutoscaler"), "horizontalpodautoscalers", hpaFromV2beta1, gv("autoscaling", "v2beta1"))
	add(gv("autoscaling", "v2").WithKind("HorizontalPodAutoscaler"), "horizontalpodautoscalers", nil, gv("autoscaling", "v2beta2"))
	add(gv("discovery.k8s.io", "v1").WithKind("EndpointSlice"), "endpointslices", endpointSliceFromBeta, gv("discovery.k8s.io", "v1beta1"))
	flow := "flowcontrol.apiserver.k8s.io"
	add(gv(flow, "v1").WithKind("FlowSchema"), "flowschemas", nil, gv(flow, "v1beta1"), gv(flow, "v1beta2"), gv(flow, "v1beta3"))
	add(gv(flow, "v1").WithKind("PriorityLevelConfiguration"), "prioritylevelconfigurations", priorityLevelFromBeta, gv(flow, "v1beta1"), gv(flow, "v1beta2"))
	add(gv(flow, "v1").WithKind("PriorityLevelConfiguration"), "prioritylevelconfigurations", nil, gv(flow, "v1beta3"))
	rbac := "rbac.authorization.k8s.io"
	for kind, resource := range map[string]string{"Role": "roles", "ClusterRole": "clusterroles", "RoleBinding": "rolebindings", "ClusterRoleBinding": "clusterrolebindings"} {
		add(gv(rbac, "v1").WithKind(kind), resource, nil, gv(rbac, "v1beta1"), gv(rbac, "v1alpha1"))
	}
	storage := "storage.k8s.io"
	for kind, resource := range map[string]string{"StorageClass": "storageclasses", "CSIDriver": "csidrivers", "CSINode": "csinodes",
		"CSIStorageCapacity": "csistoragecapacities", "VolumeAttachment": "volumeattachments"} {
		add(gv(storage, "v1").WithKind(kind), resource, nil, gv(storage, "v1beta1"))
	}
	add(gv("scheduling.k8s.io", "v1").WithKind("PriorityClass"), "priorityclasses", nil, gv("scheduling.k8s.io", "v1beta1"), gv("scheduling.k8s.io", "v1alpha1"))
	add(gv("node.k8s.io", "v1").WithKind("RuntimeClass"), "runtimeclasses", nil, gv("node.k8s.io", "v1beta1"))
	add(gv("coordination.k8s.io", "v1").WithKind("Lease"), "leases", nil, gv("coordination.k8s.io", "v1beta1"))
	add(gv("certificates.k8s.io", "v1").WithKind("CertificateSigningRequest"), "certificatesigningrequests", nil, gv("certificates.k8s.io", "v1beta1"))

	add(gv("apiextensions.k8s.io", "v1").WithKind("CustomResourceDefinition"), "customresourcedefinitions", crdFromBeta, gv("apiextensions.k8s.io", "v1beta1"))
	admission := "admissionregistration.k8s.io"
	add(gv(admission, "v1").WithKind("ValidatingWebhookConfiguration"), "validatingwebhookconfigurations", webhooksFromBeta, gv(admission, "v1beta1"))
	add(gv(admission, "v1").WithKind("MutatingWebhookConfiguration"), "mutatingwebhookconfigurations", webhooksFromBeta, gv(admission, "v1beta1"))

	psp := gv("policy", "v1beta1").WithKind("PodSecurityPolicy")
	conversions[psp] = Conversion{From: psp, Removed: "Kubernetes 1.25 replaced it with Pod Security Admission (namespace labels pod-security.kubernetes.io/...)"}
	extPSP := gv(extensions, "v1beta1").WithKind("PodSecurityPolicy")
	conversions[extPSP] = Conversion{From: extPSP, Removed: conversions[psp].Removed}
}
