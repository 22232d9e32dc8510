package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

const realworldDir = "../../test/integration/testdata/realworld"

func TestReadManifestsRealworld(t *testing.T) {
	objs, err := ReadManifests(realworldDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) < 50 {
		t.Errorf("got %d objects, want at least 50", len(objs))
	}

	kinds := map[string]int{}
	seen := map[string]bool{}
	for i, o := range objs {
		if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
			t.Errorf("object %d: missing apiVersion, kind or name: %v", i, o.Object)
			continue
		}
		kinds[o.GetKind()]++
		id := o.GroupVersionKind().GroupKind().String() + " " + o.GetNamespace() + "/" + o.GetName()
		if seen[id] {
			t.Errorf("duplicate object %s", id)
		}
		seen[id] = true
	}
	for _, k := range []string{
		"Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Service", "Ingress", "NetworkPolicy",
		"HorizontalPodAutoscaler", "PodDisruptionBudget", "Role", "RoleBinding", "ClusterRole",
		"ClusterRoleBinding", "ServiceAccount", "Secret", "ConfigMap", "ResourceQuota", "LimitRange",
		"PriorityClass", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
		"CustomResourceDefinition", "Widget", "Gadget", "Pod", "IngressClass", "Namespace",
	} {
		if kinds[k] == 0 {
			t.Errorf("no %s in the manifests", k)
		}
	}
}

// TestRealworldManifestsDecode checks every built-in object against its Go type, rejecting unknown
// fields, and every custom resource against a CRD in the same set that serves its version.
func TestRealworldManifestsDecode(t *testing.T) {
	objs, err := ReadManifests(realworldDir)
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}

	served := map[schema.GroupVersionKind]bool{} // by the CRDs in the set
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if !scheme.Recognizes(gvk) {
			continue
		}
		typed, err := scheme.New(gvk)
		if err != nil {
			t.Errorf("%s: %v", describeManifest(o), err)
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, typed, true); err != nil {
			t.Errorf("%s: does not decode into %T: %v", describeManifest(o), typed, err)
			continue
		}
		if crd, ok := typed.(*apiextensionsv1.CustomResourceDefinition); ok {
			storage := 0
			for _, v := range crd.Spec.Versions {
				if v.Storage {
					storage++
				}
				if v.Served {
					served[schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}] = true
				}
			}
			if storage != 1 {
				t.Errorf("%s: %d storage versions, want 1", describeManifest(o), storage)
			}
		}
	}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if scheme.Recognizes(gvk) {
			continue
		}
		if !served[gvk] {
			t.Errorf("%s: %s is neither built in nor served by a CRD in the manifests", describeManifest(o), gvk)
		}
	}
}

func TestReadManifestsDocuments(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.yaml", "---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n  namespace: x\ndata:\n  n: \"1\"\n---\n\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: three\n")
	write("a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: one\n")
	write("ignored.txt", "not yaml: [")

	objs, err := ReadManifests(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, describeManifest(o))
	}
	want := "Namespace one,ConfigMap x/two,Secret three"
	if strings.Join(got, ",") != want {
		t.Errorf("got %s, want %s", strings.Join(got, ","), want)
	}

	write("c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n")
	_, err = ReadManifests(dir)
	if err == nil || !strings.Contains(err.Error(), "c.yaml: document 2") || !strings.Contains(err.Error(), "metadata.name") {
		t.Errorf("missing name: got error %v, want one naming c.yaml document 2 and metadata.name", err)
	}

	write("c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n")
	if _, err = ReadManifests(dir); err == nil || !strings.Contains(err.Error(), "c.yaml: document 1") {
		t.Errorf("bad YAML: got error %v, want one naming c.yaml document 1", err)
	}

	if _, err := ReadManifests(t.TempDir()); err == nil {
		t.Error("empty directory: got no error")
	}
}
