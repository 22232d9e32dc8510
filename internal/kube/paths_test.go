package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestCollectionPath(t *testing.T) {
	tests := []struct {
		name string
		gvr  schema.GroupVersionResource
		ns   string
		want string
	}{
		{name: "core namespaced", gvr: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns: "ns", want: "/api/v1/namespaces/ns/configmaps"},
		{name: "core cluster-wide", gvr: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, want: "/api/v1/configmaps"},
		{name: "core cluster-scoped", gvr: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, want: "/api/v1/namespaces"},
		{name: "grouped namespaced", gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, ns: "ns", want: "/apis/apps/v1/namespaces/ns/deployments"},
		{name: "grouped cluster-wide", gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, want: "/apis/apps/v1/deployments"},
		{
			name: "grouped cluster-scoped",
			gvr:  schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
			want: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CollectionPath(tt.gvr, tt.ns); got != tt.want {
				t.Errorf("CollectionPath = %q, want %q", got, tt.want)
			}
		})
	}
}
