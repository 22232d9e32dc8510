package scope

import (
	"encoding/json"
	"sort"
	"sync"
)

// Cluster-scoped resources that namespaced objects can depend on. When a backup or restore is
// scoped to namespaces, the objects of these that its items name come along.
const (
	DepPV           = "persistentvolumes"
	DepStorageClass = "storageclasses.storage.k8s.io"
	DepClusterRole  = "clusterroles.rbac.authorization.k8s.io"
	DepCRD          = "customresourcedefinitions.apiextensions.k8s.io"
)

// DependencyResources are the group-resources Dependencies collects, CRDs first.
var DependencyResources = []string{DepCRD, DepPV, DepStorageClass, DepClusterRole}

// Dependencies collects, concurrently, the names of cluster-scoped objects that items need.
type Dependencies struct {
	mu    sync.Mutex
	names map[string]map[string]bool // group-resource → names
}

// NewDependencies returns an empty collection.
func NewDependencies() *Dependencies {
	return &Dependencies{names: map[string]map[string]bool{}}
}

// Add records that name of groupResource is needed.
func (d *Dependencies) Add(groupResource, name string) {
	if name == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.names[groupResource] == nil {
		d.names[groupResource] = map[string]bool{}
	}
	d.names[groupResource][name] = true
}

// Names returns the needed names of groupResource, sorted.
func (d *Dependencies) Names(groupResource string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for n := range d.names[groupResource] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// builtinGroups are served by kube-apiserver itself; any other group's resources may be custom
// resources, whose CRD (named <resource>.<group>) then comes along, and which restore last.
var builtinGroups = map[string]bool{
	"": true, "apps": true, "batch": true, "autoscaling": true, "policy": true, "networking.k8s.io": true,
	"rbac.authorization.k8s.io": true, "storage.k8s.io": true, "scheduling.k8s.io": true, "coordination.k8s.io": true,
	"discovery.k8s.io": true, "node.k8s.io": true, "events.k8s.io": true, "certificates.k8s.io": true,
	"admissionregistration.k8s.io": true, "apiextensions.k8s.io": true, "apiregistration.k8s.io": true,
	"flowcontrol.apiserver.k8s.io": true, "authentication.k8s.io": true, "authorization.k8s.io": true,
	"resource.k8s.io": true, "internal.apiserver.k8s.io": true, "storagemigration.k8s.io": true,
}

// Has tells whether name of groupResource is needed.
func (d *Dependencies) Has(groupResource, name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.names[groupResource][name]
}

// Note records what a namespaced item (raw JSON) of resource group/resource depends on.
func (d *Dependencies) Note(group, resource string, item []byte) {
	if !BuiltinGroup(group) {
		d.Add(DepCRD, Resource{Group: group, Resource: resource}.GroupResource())
		return
	}
	if note := noters[Resource{Group: group, Resource: resource}.GroupResource()]; note != nil {
		note(d, item)
	}
}

// Learns tells whether Note can still learn anything from an item of group/resource: a built-in
// kind that names cluster-scoped objects, or a custom resource whose CRD is not noted yet. Other
// items need not be read to collect dependencies.
func (d *Dependencies) Learns(group, resource string) bool {
	gr := Resource{Group: group, Resource: resource}.GroupResource()
	if !BuiltinGroup(group) {
		return !d.Has(DepCRD, gr)
	}
	return noters[gr] != nil
}

// noters read, for each built-in kind that names cluster-scoped objects, the names in one item.
var noters = map[string]func(d *Dependencies, item []byte){
	"persistentvolumeclaims": func(d *Dependencies, item []byte) {
		var pvc struct {
			Spec struct {
				VolumeName       string `json:"volumeName"`
				StorageClassName string `json:"storageClassName"`
			} `json:"spec"`
		}
		if json.Unmarshal(item, &pvc) == nil {
			d.Add(DepPV, pvc.Spec.VolumeName)
			d.Add(DepStorageClass, pvc.Spec.StorageClassName)
		}
	},
	"rolebindings.rbac.authorization.k8s.io": func(d *Dependencies, item []byte) {
		var rb struct {
			RoleRef struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"roleRef"`
		}
		if json.Unmarshal(item, &rb) == nil && rb.RoleRef.Kind == "ClusterRole" {
			d.Add(DepClusterRole, rb.RoleRef.Name)
		}
	},
	"statefulsets.apps": func(d *Dependencies, item []byte) {
		var sts struct {
			Spec struct {
				Templates []struct {
					Spec struct {
						StorageClassName string `json:"storageClassName"`
					} `json:"spec"`
				} `json:"volumeClaimTemplates"`
			} `json:"spec"`
		}
		if json.Unmarshal(item, &sts) == nil {
			for _, t := range sts.Spec.Templates {
				d.Add(DepStorageClass, t.Spec.StorageClassName)
			}
		}
	},
}

// BuiltinGroup tells an API group kube-apiserver serves itself from one of custom resources or an
// aggregated API.
func BuiltinGroup(group string) bool { return builtinGroups[group] }
