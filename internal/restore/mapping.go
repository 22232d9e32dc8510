package restore

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ParseMapping reads "old=new,old2=new2" pairs (namespaces or storage classes).
func ParseMapping(what string, pairs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, p := range pairs {
		from, to, ok := strings.Cut(p, "=")
		if !ok || from == "" || to == "" {
			return nil, fmt.Errorf("%s mapping %q: write old=new", what, p)
		}
		if _, dup := m[from]; dup {
			return nil, fmt.Errorf("%s mapping maps %q twice", what, from)
		}
		m[from] = to
	}
	return m, nil
}

// mapper applies namespace and storage class mappings to an object and to the references inside it
// that name a namespace or a storage class.
type mapper struct {
	namespaces     map[string]string
	storageClasses map[string]string
}

func (m mapper) namespace(ns string) string {
	if to, ok := m.namespaces[ns]; ok {
		return to
	}
	return ns
}

func (m mapper) apply(groupResource string, obj *unstructured.Unstructured) {
	if ns := obj.GetNamespace(); ns != "" {
		obj.SetNamespace(m.namespace(ns))
	}
	switch groupResource {
	case "namespaces":
		obj.SetName(m.namespace(obj.GetName()))
	case "rolebindings.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io":
		m.mapSubjects(obj)
	case "persistentvolumes":
		if ns, found, _ := unstructured.NestedString(obj.Object, "spec", "claimRef", "namespace"); found {
			_ = unstructured.SetNestedField(obj.Object, m.namespace(ns), "spec", "claimRef", "namespace")
		}
		m.mapStorageClass(obj.Object, "spec", "storageClassName")
	case "persistentvolumeclaims":
		m.mapStorageClass(obj.Object, "spec", "storageClassName")
	case "statefulsets.apps":
		templates, found, _ := unstructured.NestedSlice(obj.Object, "spec", "volumeClaimTemplates")
		if !found {
			return
		}
		for _, t := range templates {
			if tm, ok := t.(map[string]any); ok {
				m.mapStorageClass(tm, "spec", "storageClassName")
			}
		}
		_ = unstructured.SetNestedSlice(obj.Object, templates, "spec", "volumeClaimTemplates")
	}
}

// mapSubjects follows ServiceAccount subjects to their new namespaces.
func (m mapper) mapSubjects(obj *unstructured.Unstructured) {
	subjects, found, _ := unstructured.NestedSlice(obj.Object, "subjects")
	if !found {
		return
	}
	for _, s := range subjects {
		sm, ok := s.(map[string]any)
		if !ok || sm["kind"] != "ServiceAccount" {
			continue
		}
		if ns, ok := sm["namespace"].(string); ok {
			sm["namespace"] = m.namespace(ns)
		}
	}
	_ = unstructured.SetNestedSlice(obj.Object, subjects, "subjects")
}

func (m mapper) mapStorageClass(obj map[string]any, path ...string) {
	sc, found, _ := unstructured.NestedString(obj, path...)
	if !found {
		return
	}
	if to, ok := m.storageClasses[sc]; ok {
		_ = unstructured.SetNestedField(obj, to, path...)
	}
}
