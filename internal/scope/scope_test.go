package scope

import (
	"testing"

	k8slabels "k8s.io/apimachinery/pkg/labels"
)

func mustNew(t *testing.T, spec Spec) *Scope {
	t.Helper()
	s, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNamespaces(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		in   []string
		out  []string
	}{
		{Spec{}, []string{"default", "shop", "kube-system", "kube-public", "kube-node-lease"}, nil},
		{Spec{IncludedNamespaces: []string{"*"}}, []string{"shop", "kube-system"}, nil},
		{Spec{IncludedNamespaces: []string{"kube-system"}}, []string{"kube-system"}, []string{"default"}},
		{Spec{IncludedNamespaces: []string{"team-*"}}, []string{"team-a", "team-b"}, []string{"shop", "team", "kube-system"}},
		{Spec{IncludedNamespaces: []string{"kube-*"}}, []string{"kube-system", "kube-public"}, []string{"default"}},
		{Spec{ExcludedNamespaces: []string{"kube-system"}}, []string{"kube-public"}, []string{"kube-system"}},
		{Spec{ExcludedNamespaces: []string{"dev-*"}}, []string{"prod"}, []string{"dev-1"}},
		{Spec{IncludedNamespaces: []string{"team-*"}, ExcludedNamespaces: []string{"team-b"}}, []string{"team-a"}, []string{"team-b"}},
	} {
		s := mustNew(t, tc.spec)
		for _, ns := range tc.in {
			if !s.NamespaceIncluded(ns) {
				t.Errorf("%+v: %s should be included", tc.spec, ns)
			}
		}
		for _, ns := range tc.out {
			if s.NamespaceIncluded(ns) {
				t.Errorf("%+v: %s should be excluded", tc.spec, ns)
			}
		}
	}
}

func TestResources(t *testing.T) {
	deploy := Resource{Group: "apps", Resource: "deployments", Singular: "deployment", Kind: "Deployment"}
	cm := Resource{Resource: "configmaps", Singular: "configmap", Kind: "ConfigMap"}
	widget := Resource{Group: "example.com", Resource: "widgets", Singular: "widget", Kind: "Widget"}
	events := Resource{Resource: "events", Singular: "event", Kind: "Event"}
	for _, tc := range []struct {
		spec Spec
		in   []Resource
		out  []Resource
	}{
		{Spec{}, []Resource{deploy, cm, widget}, []Resource{events}},
		{Spec{IncludedResources: []string{"deployments"}}, []Resource{deploy}, []Resource{cm}},
		{Spec{IncludedResources: []string{"deployments.apps"}}, []Resource{deploy}, []Resource{cm}},
		{Spec{IncludedResources: []string{"Deployment"}}, []Resource{deploy}, nil},
		{Spec{IncludedResources: []string{"widgets.example.com", "configmap"}}, []Resource{widget, cm}, []Resource{deploy}},
		{Spec{IncludedResources: []string{"*.example.com"}}, []Resource{widget}, []Resource{deploy}},
		{Spec{ExcludedResources: []string{"configmaps"}}, []Resource{deploy}, []Resource{cm}},
		{Spec{IncludedResources: []string{"events"}}, []Resource{events}, nil},
		{Spec{IncludedResources: []string{"*"}}, []Resource{deploy}, []Resource{events}},
	} {
		s := mustNew(t, tc.spec)
		for _, r := range tc.in {
			if !s.ResourceIncluded(r) {
				t.Errorf("%+v: %s should be included", tc.spec, r.GroupResource())
			}
		}
		for _, r := range tc.out {
			if s.ResourceIncluded(r) {
				t.Errorf("%+v: %s should be excluded", tc.spec, r.GroupResource())
			}
		}
	}
}

func TestSelectors(t *testing.T) {
	s := mustNew(t, Spec{LabelSelectors: []string{"app=web,tier=front", "team in (a,b)"}})
	for labels, want := range map[string]bool{
		"app=web,tier=front": true,
		"app=web":            false, // AND within a selector
		"team=b":             true,  // OR across selectors
		"team=c":             false,
	} {
		m, err := k8slabels.ConvertSelectorToLabelsMap(labels)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Selected(m); got != want {
			t.Errorf("Selected(%s) = %v, want %v", labels, got, want)
		}
	}
	if _, ok := s.SingleSelector(); ok {
		t.Error("two selectors reported as one")
	}
	if mustNew(t, Spec{}).Selected(nil) != true {
		t.Error("no selector must select everything")
	}
}

func TestClusterResourcesMode(t *testing.T) {
	for spec, want := range map[*Spec]string{
		{}:                                     "all",
		{IncludedNamespaces: []string{"shop"}}: "deps",
		{IncludedNamespaces: []string{"*"}}:    "all",
		{IncludeClusterResources: "false"}:     "none",
		{IncludedNamespaces: []string{"shop"}, IncludeClusterResources: "true"}: "all",
	} {
		if got := mustNew(t, *spec).ClusterResourcesMode(); got != want {
			t.Errorf("%+v: mode %s, want %s", *spec, got, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, spec := range []Spec{
		{IncludeClusterResources: "maybe"},
		{LabelSelectors: []string{"app in (("}},
		{IncludedNamespaces: []string{"[bad"}},
		{IncludedResources: []string{""}},
	} {
		if _, err := New(spec); err == nil {
			t.Errorf("%+v accepted", spec)
		}
	}
}

func TestExcluded(t *testing.T) {
	if !Excluded(map[string]string{ExcludeAnnotation: "true"}, nil) || !Excluded(nil, map[string]string{VeleroExcludeAnnotation: "true"}) {
		t.Error("exclusion markers ignored")
	}
	if Excluded(map[string]string{ExcludeAnnotation: "false"}, nil) {
		t.Error("exclude=false excluded")
	}
}

func TestControlPlaneMade(t *testing.T) {
	rbacDefaults := map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}
	for _, tc := range []struct {
		resource, ns, name string
		labels             map[string]string
		secretType         string
		want               bool
	}{
		{"rolebindings.rbac.authorization.k8s.io", "kube-system", "system::leader-locking-kube-scheduler", rbacDefaults, "", true},
		{"roles.rbac.authorization.k8s.io", "kube-public", "system:controller:bootstrap-signer", rbacDefaults, "", true},
		{"deployments.apps", "kube-system", "metrics-server", map[string]string{"addonmanager.kubernetes.io/mode": "Reconcile"}, "", true},
		{"secrets", "kube-system", "bootstrap-token-abcdef", nil, "bootstrap.kubernetes.io/token", true},
		{"secrets", "kube-system", "legacy-token", nil, "kubernetes.io/service-account-token", true},
		{"configmaps", "kube-system", "extension-apiserver-authentication", nil, "", true},
		{"configmaps", "kube-node-lease", "kube-root-ca.crt", nil, "", true},
		{"configmaps", "kube-public", "cluster-info", nil, "", true},
		// What users put in system namespaces is theirs.
		{"rolebindings.rbac.authorization.k8s.io", "kube-system", "monitoring-reader", map[string]string{"app": "monitoring"}, "", false},
		{"secrets", "kube-system", "monitoring-creds", nil, "Opaque", false},
		{"configmaps", "kube-system", "monitoring-config", nil, "", false},
		// Elsewhere nothing is the control plane's by these rules.
		{"configmaps", "shop", "kube-root-ca.crt", nil, "", false},
		{"secrets", "shop", "token", nil, "kubernetes.io/service-account-token", false},
		{"rolebindings.rbac.authorization.k8s.io", "shop", "x", rbacDefaults, "", false},
	} {
		if got := ControlPlaneMade(tc.resource, tc.ns, tc.name, tc.labels, tc.secretType); got != tc.want {
			t.Errorf("ControlPlaneMade(%s %s/%s) = %t, want %t", tc.resource, tc.ns, tc.name, got, tc.want)
		}
	}
}
