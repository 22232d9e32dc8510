//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
	"github.com/cairnbackup/cairn/internal/testenv"
)

const scopeManifests = `
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a1, namespace: team-a, labels: {app: x}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a2, namespace: team-a, labels: {app: "y", tier: web}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a3, namespace: team-a, annotations: {backup.cairn.dev/exclude: "true"}}
---
apiVersion: v1
kind: Secret
metadata: {name: a4, namespace: team-a, labels: {velero.io/exclude-from-backup: "true"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b1, namespace: team-b, labels: {app: x}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: o1, namespace: other}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: sc1}
provisioner: example.com/none
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: sc1
  hostPath: {path: /tmp/pv1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim, namespace: team-a}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: sc1
  volumeName: pv1
  resources: {requests: {storage: 1Gi}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cr1}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cr2}
rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cr1}
subjects: [{kind: ServiceAccount, name: default, namespace: team-a}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: monitoring-reader, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cr2}
subjects: [{kind: ServiceAccount, name: default, namespace: other}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: monitoring-config, namespace: kube-system}
data: {k: v}
---
apiVersion: v1
kind: Secret
metadata: {name: monitoring-creds, namespace: kube-system}
stringData: {k: v}
---
apiVersion: v1
kind: Secret
metadata: {name: bootstrap-token-abcdef, namespace: kube-system}
type: bootstrap.kubernetes.io/token
stringData: {token-id: abcdef, token-secret: 0123456789abcdef}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.example.com}
spec:
  group: example.com
  names: {plural: gizmos, singular: gizmo, kind: Gizmo}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: example.com/v1
kind: Gizmo
metadata: {name: g1, namespace: team-a}
`

// TestBackupScope checks what each filter puts into a backup, read back from the repository.
func TestBackupScope(t *testing.T) {
	ctx := t.Context()
	c := startCluster(t, "scope")
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(scopeManifests, "\n---\n") {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, obj)
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.ApplyManifests(ctx, cfg, objs); err != nil {
		t.Fatal(err)
	}
	repo := storageURL(t)
	// What the control plane makes in kube-system is there, so that leaving it out means something.
	client, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().RoleBindings("kube-system").Get(ctx, "system::leader-locking-kube-scheduler", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}

	for i, tc := range []struct {
		name      string
		args      []string
		want, not []string
	}{
		{
			name: "namespace globs and exclusions pull in dependencies",
			args: []string{"--include-namespaces", "team-*", "--exclude-namespaces", "team-b"},
			want: []string{"configmaps/team-a/a1", "configmaps/team-a/a2", "namespaces//team-a", "persistentvolumeclaims/team-a/claim",
				"persistentvolumes//pv1", "storageclasses.storage.k8s.io//sc1", "clusterroles.rbac.authorization.k8s.io//cr1",
				"customresourcedefinitions.apiextensions.k8s.io//gizmos.example.com", "gizmos.example.com/team-a/g1"},
			not: []string{"configmaps/team-a/a3", "secrets/team-a/a4", "configmaps/team-b/b1", "configmaps/other/o1",
				"clusterroles.rbac.authorization.k8s.io//cr2", "namespaces//team-b"},
		},
		{
			name: "label selectors are ORed",
			args: []string{"-l", "app=x", "-l", "app=y,tier=web"},
			want: []string{"configmaps/team-a/a1", "configmaps/team-a/a2", "configmaps/team-b/b1", "namespaces//team-a", "namespaces//team-b"},
			not:  []string{"configmaps/other/o1", "namespaces//other", "clusterroles.rbac.authorization.k8s.io//cr2"},
		},
		{
			name: "resource types and no cluster resources",
			args: []string{"--include-namespaces", "team-a", "--include-resources", "configmaps", "--include-cluster-resources", "false"},
			want: []string{"configmaps/team-a/a1", "namespaces//team-a"},
			not:  []string{"persistentvolumeclaims/team-a/claim", "persistentvolumes//pv1", "gizmos.example.com/team-a/g1"},
		},
		{
			name: "whole cluster holds what users put in system namespaces, not what the control plane makes there, nor events",
			args: nil,
			want: []string{"configmaps/other/o1", "clusterroles.rbac.authorization.k8s.io//cr2", "namespaces//default", "namespaces//kube-system",
				"rolebindings.rbac.authorization.k8s.io/kube-system/monitoring-reader", "configmaps/kube-system/monitoring-config",
				"secrets/kube-system/monitoring-creds"},
			not: []string{"configmaps/kube-system/extension-apiserver-authentication", "configmaps/kube-system/kube-root-ca.crt",
				"configmaps/kube-public/kube-root-ca.crt", "secrets/kube-system/bootstrap-token-abcdef",
				"rolebindings.rbac.authorization.k8s.io/kube-system/system::leader-locking-kube-scheduler",
				"roles.rbac.authorization.k8s.io/kube-system/extension-apiserver-authentication-reader"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("scope-%d", i)
			mustCairn(t, c, append([]string{"backup", "create", name, "--storage", repo}, tc.args...)...)
			got := backupContents(ctx, t, repo, name)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("backup lacks %s", w)
				}
			}
			for _, n := range tc.not {
				if slices.Contains(got, n) {
					t.Errorf("backup holds %s", n)
				}
			}
			for _, g := range got {
				if strings.HasPrefix(g, "events/") || strings.HasPrefix(g, "leases.coordination.k8s.io/") {
					t.Errorf("backup holds %s", g)
				}
			}
		})
	}
}

// backupContents lists a backup's items as resource/namespace/name.
func backupContents(ctx context.Context, t *testing.T, repo, name string) []string {
	t.Helper()
	st, err := blobopen.Open(ctx, repo, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	r, err := archive.Open(ctx, st, archive.Credential{Passphrase: []byte(testPassphrase)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.OpenBackup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := b.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range ix.Groups {
		err := b.ReadGroup(ctx, g, func(item []byte) error {
			var h struct {
				Metadata struct{ Name, Namespace string } `json:"metadata"`
			}
			if err := json.Unmarshal(item, &h); err != nil {
				return err
			}
			out = append(out, g.GroupResource()+"/"+h.Metadata.Namespace+"/"+h.Metadata.Name)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}
