package restore

import (
	"slices"
	"testing"
)

func TestResourceOrder(t *testing.T) {
	tests := []struct {
		name    string
		present []string
		custom  map[string]bool
		first   []string
		want    []string
	}{
		{
			name: "known types",
			present: []string{
				"deployments.apps", "pods", "configmaps", "secrets", "persistentvolumeclaims",
				"persistentvolumes", "namespaces", "customresourcedefinitions.apiextensions.k8s.io",
			},
			want: []string{
				"customresourcedefinitions.apiextensions.k8s.io", "namespaces", "persistentvolumes",
				"persistentvolumeclaims", "secrets", "configmaps", "pods", "deployments.apps",
			},
		},
		{
			name: "unknown built-ins alphabetical after known",
			present: []string{
				"leases.coordination.k8s.io", "pods", "csidrivers.storage.k8s.io", "namespaces",
				"events.events.k8s.io",
			},
			want: []string{
				"namespaces", "pods", "csidrivers.storage.k8s.io", "events.events.k8s.io",
				"leases.coordination.k8s.io",
			},
		},
		{
			name: "custom resources last",
			present: []string{
				"widgets.example.com", "leases.coordination.k8s.io", "apples.example.com",
				"services", "zebras.coordination.k8s.io",
			},
			custom: map[string]bool{"widgets.example.com": true, "apples.example.com": true},
			want: []string{
				"services", "leases.coordination.k8s.io", "zebras.coordination.k8s.io",
				"apples.example.com", "widgets.example.com",
			},
		},
		{
			name:    "first moves types ahead",
			present: []string{"namespaces", "pods", "widgets.example.com", "configmaps", "secrets"},
			custom:  map[string]bool{"widgets.example.com": true},
			first:   []string{"widgets.example.com", "configmaps"},
			want:    []string{"widgets.example.com", "configmaps", "namespaces", "secrets", "pods"},
		},
		{
			name:    "first names absent types",
			present: []string{"pods", "namespaces"},
			first:   []string{"gadgets.example.com", "pods"},
			want:    []string{"pods", "namespaces"},
		},
		{name: "empty", present: nil, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.present)
			got := resourceOrder(in, tt.custom, tt.first)
			if !slices.Equal(got, tt.want) {
				t.Errorf("resourceOrder = %q, want %q", got, tt.want)
			}
			if !slices.Equal(in, tt.present) {
				t.Errorf("resourceOrder changed its input: %q", in)
			}
		})
	}
}

func TestResourceOrderFirstKeepsDefault(t *testing.T) {
	first := []string{"pods"}
	resourceOrder([]string{"pods", "namespaces"}, nil, first)
	got := resourceOrder([]string{"pods", "namespaces"}, nil, nil)
	if want := []string{"namespaces", "pods"}; !slices.Equal(got, want) {
		t.Errorf("after a call with first, resourceOrder = %q, want %q", got, want)
	}
}

func TestDefaultOrderUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range defaultOrder {
		if seen[r] {
			t.Errorf("%s listed twice", r)
		}
		seen[r] = true
	}
}
