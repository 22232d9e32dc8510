// Package scope decides which objects a backup or restore covers: namespaces (with globs),
// resource types, label selectors, cluster-scoped resources, and the exclusion annotations.
// Backup and restore share it so that the same filter means the same thing on both sides.
package scope

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Cluster-scoped resource modes.
const (
	ClusterAuto = "auto" // all cluster-scoped resources for a whole-cluster scope, only dependencies when scoped to namespaces
	ClusterAll  = "true"
	ClusterNone = "false"
)

// Spec is a filter as the user writes it.
type Spec struct {
	IncludedNamespaces      []string
	ExcludedNamespaces      []string
	IncludedResources       []string
	ExcludedResources       []string
	LabelSelectors          []string
	IncludeClusterResources string
}

// systemNamespaces are the namespaces the control plane makes. They are in scope like any other
// (what users put there, a monitoring stack's RoleBindings or Secrets, is theirs to back up), but
// what the control plane makes in them is not: ControlPlaneMade.
var systemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// controlPlaneConfigMaps are the ConfigMaps the apiserver, the controller-manager and the bootstrap
// signer publish in system namespaces: CA bundles and the cluster's own configuration.
var controlPlaneConfigMaps = []string{
	"kube-root-ca.crt", "extension-apiserver-authentication", "kube-apiserver-legacy-service-account-token-tracking", "cluster-info",
}

// generatedSecretTypes are the Secrets the cluster generates: service account tokens and
// bootstrap tokens.
var generatedSecretTypes = []string{"kubernetes.io/service-account-token", "bootstrap.kubernetes.io/token"}

// ControlPlaneMade tells whether a namespaced object is one the control plane makes and keeps
// itself, which backups leave out: in a system namespace, the bootstrap RBAC (label
// kubernetes.io/bootstrapping=rbac-defaults), what the addon manager reconciles (label
// addonmanager.kubernetes.io/mode), generated tokens (Secrets of generatedSecretTypes) and the
// CA bundles and configuration it publishes (controlPlaneConfigMaps). Leases and events are left
// out in every namespace as ephemeral resources. secretType is the object's top-level "type"
// (Secrets'; "" for others).
func ControlPlaneMade(groupResource, namespace, name string, objLabels map[string]string, secretType string) bool {
	if !slices.Contains(systemNamespaces, namespace) {
		return false
	}
	if objLabels["kubernetes.io/bootstrapping"] == "rbac-defaults" || objLabels["addonmanager.kubernetes.io/mode"] != "" {
		return true
	}
	switch groupResource {
	case "secrets":
		return slices.Contains(generatedSecretTypes, secretType)
	case "configmaps":
		return slices.Contains(controlPlaneConfigMaps, name)
	}
	return false
}

// ephemeralResources are left out unless named explicitly: the cluster makes them anew, or
// restoring them would fight the cluster (nodes, leases, allocated IPs).
var ephemeralResources = []string{
	"events", "events.events.k8s.io", "nodes", "leases.coordination.k8s.io",
	"csinodes.storage.k8s.io", "volumeattachments.storage.k8s.io", "csistoragecapacities.storage.k8s.io",
	"componentstatuses", "ipaddresses.networking.k8s.io", "servicecidrs.networking.k8s.io",
	"certificatesigningrequests.certificates.k8s.io", "resourceslices.resource.k8s.io",
}

// Scope is a validated Spec.
type Scope struct {
	spec      Spec
	selectors []labels.Selector
}

// New validates spec and returns its scope.
func New(spec Spec) (*Scope, error) {
	switch spec.IncludeClusterResources {
	case "":
		spec.IncludeClusterResources = ClusterAuto
	case ClusterAuto, ClusterAll, ClusterNone:
	default:
		return nil, fmt.Errorf("include-cluster-resources %q: use auto, true or false", spec.IncludeClusterResources)
	}
	for _, list := range [][]string{spec.IncludedNamespaces, spec.ExcludedNamespaces, spec.IncludedResources, spec.ExcludedResources} {
		for _, p := range list {
			if _, err := path.Match(p, ""); err != nil || p == "" {
				return nil, fmt.Errorf("bad pattern %q: use names with optional * and ? globs", p)
			}
		}
	}
	s := &Scope{spec: spec}
	for _, sel := range spec.LabelSelectors {
		parsed, err := labels.Parse(sel)
		if err != nil {
			return nil, fmt.Errorf("label selector %q: %w", sel, err)
		}
		s.selectors = append(s.selectors, parsed)
	}
	return s, nil
}

// Spec returns the filter as given, with defaults filled in.
func (s *Scope) Spec() Spec { return s.spec }

// AllNamespaces tells whether the scope is the whole cluster rather than chosen namespaces.
func (s *Scope) AllNamespaces() bool {
	return len(s.spec.IncludedNamespaces) == 0 || slices.Equal(s.spec.IncludedNamespaces, []string{"*"})
}

// ExplicitNamespaces returns the included namespaces when all are plain names (no globs), so a
// caller can list per namespace instead of across the cluster.
func (s *Scope) ExplicitNamespaces() ([]string, bool) {
	if s.AllNamespaces() {
		return nil, false
	}
	for _, n := range s.spec.IncludedNamespaces {
		if strings.ContainsAny(n, "*?[") {
			return nil, false
		}
	}
	return s.spec.IncludedNamespaces, true
}

// NamespaceIncluded tells whether objects of namespace ns are in scope.
func (s *Scope) NamespaceIncluded(ns string) bool {
	if MatchAny(s.spec.ExcludedNamespaces, ns) {
		return false
	}
	return s.AllNamespaces() || slices.Contains(s.spec.IncludedNamespaces, ns) || MatchAny(s.spec.IncludedNamespaces, ns)
}

// Resource describes a resource type for matching.
type Resource struct {
	Group    string // "" for core
	Resource string // plural: "deployments"
	Singular string
	Kind     string
}

// names are the ways a user may write the resource: plural, singular or kind, alone or with the
// group.
func (r Resource) names() []string {
	var out []string
	for _, n := range []string{r.Resource, r.Singular, strings.ToLower(r.Kind)} {
		if n == "" {
			continue
		}
		out = append(out, n)
		if r.Group != "" {
			out = append(out, n+"."+r.Group)
		}
	}
	return out
}

// GroupResource is the canonical name: "deployments.apps", "configmaps".
func (r Resource) GroupResource() string {
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// ResourceIncluded tells whether objects of resource r are in scope by type (namespaced or not).
func (s *Scope) ResourceIncluded(r Resource) bool {
	names := r.names()
	if matchAnyOf(s.spec.ExcludedResources, names) {
		return false
	}
	explicit := false
	for _, p := range s.spec.IncludedResources {
		if slices.Contains(names, strings.ToLower(p)) {
			explicit = true
		}
	}
	if slices.Contains(ephemeralResources, r.GroupResource()) && !explicit {
		return false
	}
	return len(s.spec.IncludedResources) == 0 || explicit || matchAnyOf(s.spec.IncludedResources, names)
}

// ClusterResourcesMode resolves auto: "all" for a whole-cluster scope, "deps" when scoped to
// namespaces, "none" when switched off.
func (s *Scope) ClusterResourcesMode() string {
	switch s.spec.IncludeClusterResources {
	case ClusterAll:
		return "all"
	case ClusterNone:
		return "none"
	}
	if s.AllNamespaces() {
		return "all"
	}
	return "deps"
}

// Selected tells whether an object with these labels matches the label selectors: any selector
// (OR across selectors; AND within one). No selectors select everything.
func (s *Scope) Selected(objLabels map[string]string) bool {
	if len(s.selectors) == 0 {
		return true
	}
	set := labels.Set(objLabels)
	for _, sel := range s.selectors {
		if sel.Matches(set) {
			return true
		}
	}
	return false
}

// SingleSelector returns the one label selector when there is exactly one, so a caller can let
// the apiserver filter.
func (s *Scope) SingleSelector() (string, bool) {
	if len(s.spec.LabelSelectors) != 1 {
		return "", false
	}
	return s.selectors[0].String(), true
}

// Exclusion annotations and labels honoured on any object.
const (
	ExcludeAnnotation       = "backup.cairn.dev/exclude"
	VeleroExcludeAnnotation = "velero.io/exclude-from-backup"
)

// Excluded tells whether the object opts out of backups by annotation or label.
func Excluded(annotations, objLabels map[string]string) bool {
	for _, m := range []map[string]string{annotations, objLabels} {
		if m[ExcludeAnnotation] == "true" || m[VeleroExcludeAnnotation] == "true" {
			return true
		}
	}
	return false
}

// MatchAny tells whether s matches any of the globs (path.Match syntax); a malformed glob matches
// nothing (callers validate globs when they parse them).
func MatchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

func matchAnyOf(patterns, names []string) bool {
	for _, p := range patterns {
		p = strings.ToLower(p)
		for _, n := range names {
			if ok, _ := path.Match(p, n); ok {
				return true
			}
		}
	}
	return false
}

// ExplicitlyNamed tells whether namespace ns is named, without globs, among the included ones.
func (s *Scope) ExplicitlyNamed(ns string) bool {
	return slices.Contains(s.spec.IncludedNamespaces, ns)
}
