package backup

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
)

var readVerbs = metav1.Verbs{"get", "list", "watch", "create", "delete"}

func apiResource(name, kind string, namespaced bool, verbs metav1.Verbs) metav1.APIResource {
	return metav1.APIResource{Name: name, SingularName: strings.TrimSuffix(name, "s"), Kind: kind, Namespaced: namespaced, Verbs: verbs}
}

func fakeDiscovery(lists ...*metav1.APIResourceList) *fakediscovery.FakeDiscovery {
	return &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: lists}}
}

// servedResources is the list the tests serve: FakeDiscovery makes the first version of each
// group its preferred one.
func servedResources() []*metav1.APIResourceList {
	return []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			apiResource("pods", "Pod", true, readVerbs),
			apiResource("pods/log", "Pod", true, metav1.Verbs{"get", "list"}),
			apiResource("pods/status", "Pod", true, metav1.Verbs{"get", "list", "patch"}),
			apiResource("namespaces", "Namespace", false, readVerbs),
			apiResource("configmaps", "ConfigMap", true, readVerbs),
			apiResource("bindings", "Binding", true, metav1.Verbs{"create"}),
			apiResource("componentstatuses", "ComponentStatus", false, metav1.Verbs{"get"}),
			apiResource("nolist", "NoList", true, metav1.Verbs{"list"}),
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			apiResource("deployments", "Deployment", true, readVerbs),
			apiResource("deployments/scale", "Scale", true, readVerbs),
		}},
		{GroupVersion: "apps/v1beta1", APIResources: []metav1.APIResource{
			apiResource("deployments", "Deployment", true, readVerbs),
			apiResource("controllerrevisions", "ControllerRevision", true, readVerbs),
		}},
		{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
			apiResource("widgets", "Widget", false, readVerbs),
		}},
		{GroupVersion: "authorization.k8s.io/v1", APIResources: []metav1.APIResource{
			apiResource("selfsubjectaccessreviews", "SelfSubjectAccessReview", false, metav1.Verbs{"create"}),
		}},
	}
}

func TestDiscoverResources(t *testing.T) {
	got, warnings, err := discoverResources(fakeDiscovery(servedResources()...))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
	want := []resource{
		{gvr: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, kind: "ConfigMap", singular: "configmap", namespaced: true},
		{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1beta1", Resource: "controllerrevisions"}, kind: "ControllerRevision", singular: "controllerrevision", namespaced: true},
		{gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, kind: "Deployment", singular: "deployment", namespaced: true},
		{gvr: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, kind: "Namespace", singular: "namespace", namespaced: false},
		{gvr: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, kind: "Pod", singular: "pod", namespaced: true},
		{gvr: schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}, kind: "Widget", singular: "widget", namespaced: false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("discoverResources =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDiscoverResourcesEmpty(t *testing.T) {
	got, warnings, err := discoverResources(fakeDiscovery())
	if err != nil || len(got) != 0 || len(warnings) != 0 {
		t.Errorf("discoverResources = %v, %q, %v; want nothing", got, warnings, err)
	}
}

func TestDiscoverResourcesFails(t *testing.T) {
	d := fakeDiscovery(servedResources()...)
	d.PrependReactor("get", "group", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	if got, _, err := discoverResources(d); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("discoverResources = %v, %v; want the discovery error", got, err)
	}
}

// A group whose resources cannot be listed fails the discovery if it is the only group, and is
// a warning otherwise.
func TestDiscoverResourcesGroupFails(t *testing.T) {
	t.Run("all", func(t *testing.T) {
		d := fakeDiscovery(servedResources()...)
		d.PrependReactor("get", "resource", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, errors.New("service unavailable")
		})
		if got, _, err := discoverResources(d); err == nil {
			t.Errorf("discoverResources = %v, want an error", got)
		}
	})
	t.Run("one", func(t *testing.T) {
		d := failingGroup{FakeDiscovery: fakeDiscovery(servedResources()...), failing: "example.com/v1"}
		got, warnings, err := discoverResources(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "example.com/v1") || !strings.Contains(warnings[0], "service unavailable") {
			t.Errorf("warnings = %q, want one for example.com/v1", warnings)
		}
		for _, r := range got {
			if r.gvr.Group == "example.com" {
				t.Errorf("discoverResources returned %v of the failed group", r.gvr)
			}
		}
		if len(got) != 5 {
			t.Errorf("discoverResources returned %d resources, want the 5 of the other groups", len(got))
		}
	})
}

// failingGroup is a FakeDiscovery whose resources for one group version cannot be read.
type failingGroup struct {
	*fakediscovery.FakeDiscovery
	failing string
}

func (f failingGroup) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	return f.ServerResourcesForGroupVersionWithContext(context.Background(), gv)
}

func (f failingGroup) ServerResourcesForGroupVersionWithContext(ctx context.Context, gv string) (*metav1.APIResourceList, error) {
	if gv == f.failing {
		return nil, errors.New("service unavailable")
	}
	return f.FakeDiscovery.ServerResourcesForGroupVersionWithContext(ctx, gv)
}

func TestHasVerbs(t *testing.T) {
	tests := []struct {
		verbs metav1.Verbs
		want  bool
	}{
		{verbs: metav1.Verbs{"get", "list"}, want: true},
		{verbs: readVerbs, want: true},
		{verbs: metav1.Verbs{"list"}},
		{verbs: metav1.Verbs{"get"}},
		{verbs: nil},
	}
	for _, tt := range tests {
		if got := hasVerbs(metav1.APIResource{Verbs: tt.verbs}, "list", "get"); got != tt.want {
			t.Errorf("hasVerbs(%q) = %v, want %v", tt.verbs, got, tt.want)
		}
	}
}
