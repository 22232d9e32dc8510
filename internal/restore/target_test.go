package restore

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestDryRunPlansWhatACreatedCRDServes(t *testing.T) {
	s := &served{}
	carts := schema.GroupVersionResource{Group: "shop.example", Version: "v1", Resource: "carts"}
	if s.wouldServe(carts) {
		t.Fatal("planned before any CRD")
	}
	s.plan(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"spec": map[string]any{"group": "shop.example", "scope": "Namespaced", "names": map[string]any{"plural": "carts"},
			"versions": []any{
				map[string]any{"name": "v1", "served": true},
				map[string]any{"name": "v1alpha1", "served": false},
			}},
	}})
	for _, tc := range []struct {
		gvr  schema.GroupVersionResource
		want bool
	}{
		{carts, true},
		{schema.GroupVersionResource{Group: "shop.example", Version: "v1beta1", Resource: "carts"}, true}, // restored at v1
		{schema.GroupVersionResource{Group: "shop.example", Version: "v1", Resource: "orders"}, false},
		{schema.GroupVersionResource{Group: "other.example", Version: "v1", Resource: "carts"}, false},
	} {
		if got := s.wouldServe(tc.gvr); got != tc.want {
			t.Errorf("wouldServe(%s) = %v, want %v", tc.gvr, got, tc.want)
		}
	}
	if namespaced, ok := s.planned[carts]; !ok || !namespaced {
		t.Errorf("planned %v", s.planned)
	}
	if _, ok := s.planned[schema.GroupVersionResource{Group: "shop.example", Version: "v1alpha1", Resource: "carts"}]; ok {
		t.Error("a version the CRD does not serve was planned")
	}
}
