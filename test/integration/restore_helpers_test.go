//go:build integration

package integration

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/internal/localcluster"
)

const testPassphrase = "integration-test-passphrase"

// cairn runs the cairn CLI in-process against cluster c and returns stdout, stderr and the error.
func cairn(t *testing.T, c *localcluster.Cluster, args ...string) (string, string, error) {
	t.Helper()
	return cairnWithEnv(t, c, nil, args...)
}

// cairnWithEnv is cairn with extra environment variables (storage credentials).
func cairnWithEnv(t *testing.T, c *localcluster.Cluster, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := cli.NewRootCommand(cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string {
		if k == "CAIRN_PASSPHRASE" {
			return testPassphrase
		}
		return env[k]
	}})
	if c != nil {
		args = append(args, "--kubeconfig", c.State.Kubeconfig)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// mustCairn is cairn that fails the test on error.
func mustCairn(t *testing.T, c *localcluster.Cluster, args ...string) string {
	t.Helper()
	out, errOut, err := cairn(t, c, args...)
	if err != nil {
		t.Fatalf("cairn %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func storageURL(t *testing.T) string {
	return "file://" + filepath.Join(t.TempDir(), "repo")
}

// objects reads objects of cluster c by kind through a discovery-backed REST mapper.
type objects struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

func objectsOf(t *testing.T, c *localcluster.Cluster) *objects {
	t.Helper()
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	return objectsFor(t, cfg)
}

func objectsFor(t *testing.T, cfg *rest.Config) *objects {
	t.Helper()
	disc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	return &objects{dyn: dynamic.NewForConfigOrDie(cfg), mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

func (o *objects) resource(t *testing.T, like *unstructured.Unstructured, ns string) dynamic.ResourceInterface {
	t.Helper()
	gvk := like.GroupVersionKind()
	m, err := o.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatalf("map %s: %v", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if ns == "" {
			ns = "default"
		}
		return o.dyn.Resource(m.Resource).Namespace(ns)
	}
	return o.dyn.Resource(m.Resource)
}

// get returns the live object like names (in namespace ns, if given), or nil if it does not exist.
func (o *objects) get(ctx context.Context, t *testing.T, like *unstructured.Unstructured, ns string) *unstructured.Unstructured {
	t.Helper()
	if ns == "" {
		ns = like.GetNamespace()
	}
	obj, err := o.resource(t, like, ns).Get(ctx, like.GetName(), metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return obj
}

// normalize removes what differs between an original and its faithful restore: server identity
// and bookkeeping, status, and what the server or a controller allocates anew.
func normalize(in *unstructured.Unstructured) map[string]any {
	obj := in.DeepCopy()
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink"} {
		unstructured.RemoveNestedField(obj.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(obj.Object, "status")
	a := obj.GetAnnotations()
	for k := range a {
		if strings.HasPrefix(k, "pv.kubernetes.io/") || k == "deployment.kubernetes.io/revision" {
			delete(a, k)
		}
	}
	if len(a) == 0 {
		a = nil
	}
	obj.SetAnnotations(a)
	refs := obj.GetOwnerReferences()
	for i := range refs {
		refs[i].UID = ""
	}
	obj.SetOwnerReferences(refs)
	switch obj.GetKind() {
	case "Service":
		if ip, _, _ := unstructured.NestedString(obj.Object, "spec", "clusterIP"); ip != "None" {
			unstructured.RemoveNestedField(obj.Object, "spec", "clusterIP")
			unstructured.RemoveNestedField(obj.Object, "spec", "clusterIPs")
		}
		unstructured.RemoveNestedField(obj.Object, "spec", "healthCheckNodePort")
		ports, _, _ := unstructured.NestedSlice(obj.Object, "spec", "ports")
		for _, p := range ports {
			delete(p.(map[string]any), "nodePort")
		}
		_ = unstructured.SetNestedSlice(obj.Object, ports, "spec", "ports")
	case "Pod":
		unstructured.RemoveNestedField(obj.Object, "spec", "nodeName")
		dropTokenVolumes(obj.Object)
	case "Job":
		unstructured.RemoveNestedField(obj.Object, "spec", "selector")
		for _, p := range [][]string{{"metadata", "labels"}, {"spec", "template", "metadata", "labels"}} {
			for _, l := range []string{"controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name"} {
				unstructured.RemoveNestedField(obj.Object, append(p, l)...)
			}
		}
	case "PersistentVolume":
		unstructured.RemoveNestedField(obj.Object, "spec", "claimRef", "uid")
		unstructured.RemoveNestedField(obj.Object, "spec", "claimRef", "resourceVersion")
	}
	return obj.Object
}

func dropTokenVolumes(obj map[string]any) {
	vols, _, _ := unstructured.NestedSlice(obj, "spec", "volumes")
	var kept []any
	for _, v := range vols {
		if name, _ := v.(map[string]any)["name"].(string); !strings.HasPrefix(name, "kube-api-access-") {
			kept = append(kept, v)
		}
	}
	_ = unstructured.SetNestedSlice(obj, kept, "spec", "volumes")
	for _, f := range []string{"containers", "initContainers"} {
		cs, _, _ := unstructured.NestedSlice(obj, "spec", f)
		for _, c := range cs {
			cm := c.(map[string]any)
			mounts, _ := cm["volumeMounts"].([]any)
			var km []any
			for _, m := range mounts {
				if name, _ := m.(map[string]any)["name"].(string); !strings.HasPrefix(name, "kube-api-access-") {
					km = append(km, m)
				}
			}
			if len(km) == 0 {
				delete(cm, "volumeMounts")
			} else {
				cm["volumeMounts"] = km
			}
		}
		if cs != nil {
			_ = unstructured.SetNestedSlice(obj, cs, "spec", f)
		}
	}
}

// assertRestored waits until the object like, as restored into dst (in namespace dstNS if given),
// equals the original in src after normalization. Controllers may still be settling (aggregated
// ClusterRoles, bindings), so it polls for a while.
func assertRestored(ctx context.Context, t *testing.T, src, dst *objects, like *unstructured.Unstructured, dstNS string) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		orig := src.get(ctx, t, like, "")
		got := dst.get(ctx, t, like, dstNS)
		switch {
		case orig == nil:
			last = "the original is gone"
		case got == nil:
			last = "not restored"
		default:
			want := normalize(orig)
			if dstNS != "" {
				_ = unstructured.SetNestedField(want, dstNS, "metadata", "namespace")
			}
			last = cmp.Diff(want, normalize(got))
		}
		return last == "", nil
	})
	if err != nil {
		t.Errorf("%s %s/%s: %s", like.GetKind(), like.GetNamespace(), like.GetName(), last)
	}
}
