package scope

import (
	"strings"
	"testing"
)

// TestDependencies: items name the cluster-scoped objects they need, and Learns names exactly the
// kinds whose items can name one.
func TestDependencies(t *testing.T) {
	d := NewDependencies()
	items := []struct {
		group, resource, item string
	}{
		{"", "persistentvolumeclaims", `{"spec":{"volumeName":"pv-1","storageClassName":"fast"}}`},
		{"rbac.authorization.k8s.io", "rolebindings", `{"roleRef":{"kind":"ClusterRole","name":"view"}}`},
		{"rbac.authorization.k8s.io", "rolebindings", `{"roleRef":{"kind":"Role","name":"local"}}`},
		{"apps", "statefulsets", `{"spec":{"volumeClaimTemplates":[{"spec":{"storageClassName":"slow"}}]}}`},
		{"example.com", "widgets", `{}`},
		{"", "configmaps", `{"data":{"storageClassName":"no"}}`},
	}
	for _, it := range items {
		d.Note(it.group, it.resource, []byte(it.item))
	}
	for gr, want := range map[string]string{DepPV: "pv-1", DepStorageClass: "fast slow", DepClusterRole: "view", DepCRD: "widgets.example.com"} {
		if got := strings.Join(d.Names(gr), " "); got != want {
			t.Errorf("%s: %q, want %q", gr, got, want)
		}
	}
	for _, c := range []struct {
		group, resource string
		want            bool
	}{
		{"", "persistentvolumeclaims", true}, {"rbac.authorization.k8s.io", "rolebindings", true}, {"apps", "statefulsets", true},
		{"example.com", "widgets", true}, {"", "configmaps", false}, {"apps", "deployments", false}, {"", "secrets", false},
	} {
		if got := NewDependencies().Learns(c.group, c.resource); got != c.want {
			t.Errorf("Learns(%q, %q) = %v, want %v", c.group, c.resource, got, c.want)
		}
	}
}
