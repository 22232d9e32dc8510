package restore

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// cleanOptions keep what a user asked to keep.
type cleanOptions struct {
	preserveServiceIPs bool
	preserveNodePorts  bool
	// restoredPVs names the PersistentVolumes this restore brings back or finds free for their
	// claims: a claim keeps its volumeName only if its volume is one (planVolumes).
	restoredPVs map[string]bool
}

// clean removes from obj what the server sets or a controller rebuilds, so that it can be created
// anew: identity and bookkeeping metadata, status, allocated IPs and ports, node bindings and the
// auto-injected service account token volume.
func clean(groupResource string, obj *unstructured.Unstructured, o cleanOptions) {
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
		"deletionTimestamp", "deletionGracePeriodSeconds", "generateName"} {
		unstructured.RemoveNestedField(obj.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(obj.Object, "status")
	switch groupResource {
	case "namespaces":
		unstructured.RemoveNestedField(obj.Object, "spec", "finalizers")
	case "services":
		cleanService(obj, o)
	case "persistentvolumes":
		unstructured.RemoveNestedField(obj.Object, "spec", "claimRef", "uid")
		unstructured.RemoveNestedField(obj.Object, "spec", "claimRef", "resourceVersion")
	case "persistentvolumeclaims":
		deleteAnnotations(obj, "pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
			"volume.kubernetes.io/selected-node")
		if name, _, _ := unstructured.NestedString(obj.Object, "spec", "volumeName"); name != "" && !o.restoredPVs[name] {
			unstructured.RemoveNestedField(obj.Object, "spec", "volumeName")
		}
	case "pods":
		unstructured.RemoveNestedField(obj.Object, "spec", "nodeName")
		removeTokenVolume(obj.Object, "spec")
	case "jobs.batch":
		cleanJobSelector(obj.Object, "spec")
	case "serviceaccounts":
		cleanServiceAccountSecrets(obj)
	}
}

func cleanService(obj *unstructured.Unstructured, o cleanOptions) {
	ip, _, _ := unstructured.NestedString(obj.Object, "spec", "clusterIP")
	if !o.preserveServiceIPs && ip != "None" {
		unstructured.RemoveNestedField(obj.Object, "spec", "clusterIP")
		unstructured.RemoveNestedField(obj.Object, "spec", "clusterIPs")
	}
	if o.preserveNodePorts {
		return
	}
	unstructured.RemoveNestedField(obj.Object, "spec", "healthCheckNodePort")
	ports, found, _ := unstructured.NestedSlice(obj.Object, "spec", "ports")
	if !found {
		return
	}
	for _, p := range ports {
		if m, ok := p.(map[string]any); ok {
			delete(m, "nodePort")
		}
	}
	_ = unstructured.SetNestedSlice(obj.Object, ports, "spec", "ports")
}

// removeTokenVolume drops the projected kube-api-access-* volume and its mounts that admission
// added: it would add them again, and twice is an error.
func removeTokenVolume(obj map[string]any, specPath ...string) {
	volumes, _, _ := unstructured.NestedSlice(obj, append(specPath, "volumes")...)
	var kept []any
	dropped := map[string]bool{}
	for _, v := range volumes {
		m, _ := v.(map[string]any)
		name, _ := m["name"].(string)
		if _, projected := m["projected"]; projected && strings.HasPrefix(name, "kube-api-access-") {
			dropped[name] = true
			continue
		}
		kept = append(kept, v)
	}
	if len(dropped) == 0 {
		return
	}
	_ = unstructured.SetNestedSlice(obj, kept, append(specPath, "volumes")...)
	for _, field := range []string{"containers", "initContainers", "ephemeralContainers"} {
		containers, _, _ := unstructured.NestedSlice(obj, append(specPath, field)...)
		for _, c := range containers {
			cm, _ := c.(map[string]any)
			mounts, _ := cm["volumeMounts"].([]any)
			var keptMounts []any
			for _, mt := range mounts {
				mm, _ := mt.(map[string]any)
				if name, _ := mm["name"].(string); !dropped[name] {
					keptMounts = append(keptMounts, mt)
				}
			}
			if len(keptMounts) == 0 {
				delete(cm, "volumeMounts")
			} else {
				cm["volumeMounts"] = keptMounts
			}
		}
		if containers != nil {
			_ = unstructured.SetNestedSlice(obj, containers, append(specPath, field)...)
		}
	}
}

// jobGeneratedLabels are the labels the Job controller puts on a Job's pod template; they carry
// the Job's uid.
var jobGeneratedLabels = []string{"controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name"}

// cleanJobSelector removes the selector and controller-uid labels the Job controller generated:
// they carry the old Job's uid, and the new Job would be refused.
func cleanJobSelector(obj map[string]any, specPath ...string) {
	if manual, _, _ := unstructured.NestedBool(obj, append(specPath, "manualSelector")...); manual {
		return
	}
	unstructured.RemoveNestedField(obj, append(specPath, "selector")...)
	for _, l := range jobGeneratedLabels {
		unstructured.RemoveNestedField(obj, append(specPath, "template", "metadata", "labels", l)...)
	}
}

// cleanServiceAccountSecrets drops references to auto-made token Secrets, which are not restored.
func cleanServiceAccountSecrets(obj *unstructured.Unstructured) {
	secrets, found, _ := unstructured.NestedSlice(obj.Object, "secrets")
	if !found {
		return
	}
	var kept []any
	for _, s := range secrets {
		m, _ := s.(map[string]any)
		if name, _ := m["name"].(string); !strings.HasPrefix(name, obj.GetName()+"-token-") {
			kept = append(kept, s)
		}
	}
	if len(kept) == 0 {
		unstructured.RemoveNestedField(obj.Object, "secrets")
		return
	}
	_ = unstructured.SetNestedSlice(obj.Object, kept, "secrets")
}

func deleteAnnotations(obj *unstructured.Unstructured, keys ...string) {
	a := obj.GetAnnotations()
	if a == nil {
		return
	}
	for _, k := range keys {
		delete(a, k)
	}
	if len(a) == 0 {
		a = nil
	}
	obj.SetAnnotations(a)
}
