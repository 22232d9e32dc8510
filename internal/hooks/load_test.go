package hooks

import (
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/api/v1alpha1"
)

// dynamicClient serves the hook objects of the YAML documents.
func dynamicClient(t *testing.T, docs ...string) *dynamicfake.FakeDynamicClient {
	t.Helper()
	var objs []runtime.Object
	for _, doc := range docs {
		data, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, u)
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		v1alpha1.BackupHookResource:  "BackupHookList",
		v1alpha1.RestoreHookResource: "RestoreHookList",
	}, objs...)
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("../../docs/samples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestLoadAKSBackupHookSample(t *testing.T) {
	dyn := dynamicClient(t, readTestdata(t, "aks-backuphook.yaml"))
	got, err := LoadBackupHooks(t.Context(), dyn, []string{"default/bkphookname0", "default/bkphookname0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("loaded %d hooks, want 1 (a repeated reference loads once)", len(got))
	}
	h := got[0]
	if h.Namespace != "default" || h.Name != "bkphookname0" || len(h.Spec.BackupHook) != 1 {
		t.Fatalf("loaded %+v", h)
	}
	r := h.Spec.BackupHook[0]
	if r.Name != "hook1" || len(r.IncludedNamespaces) != 1 || r.IncludedNamespaces[0] != "hrweb" ||
		r.ExcludedNamespaces != nil || r.LabelSelector != nil || len(r.PreHooks) != 2 || len(r.PostHooks) != 1 {
		t.Fatalf("rule %+v", r)
	}
	pre := r.PreHooks[0].Exec
	if pre.Container != "webcontainer" || strings.Join(pre.Command, " ") != "/bin/uname -a" ||
		pre.OnError != v1alpha1.HookErrorContinue || pre.Timeout.Duration != 10*time.Second {
		t.Fatalf("preHooks[0] %+v", pre)
	}
	if c := r.PreHooks[1].Exec.Command; len(c) != 3 || c[2] != "echo hello > hello.txt && echo goodbye > goodbye.txt" {
		t.Fatalf("preHooks[1] command %q", c)
	}
	steps := NewBackupRunner(clientset(), newFakeExec(nil), got, nil, nil).rules[0].pre
	if steps[1].timeout != defaultBackupTimeout || steps[1].onError != v1alpha1.HookErrorContinue {
		t.Fatalf("preHooks[1] resolved to %+v, want the 30s default timeout and its own Continue", steps[1])
	}
}

func TestLoadAKSRestoreHookSample(t *testing.T) {
	dyn := dynamicClient(t, readTestdata(t, "aks-restorehook.yaml"))
	got, err := LoadRestoreHooks(t.Context(), dyn, []string{"default/restorehookname0"})
	if err != nil {
		t.Fatal(err)
	}
	r := got[0].Spec.RestoreHook[0]
	if r.Name != "myhook-1" || r.IncludedNamespaces != nil || r.ExcludedNamespaces != nil || r.LabelSelector != nil || len(r.PostHooks) != 1 {
		t.Fatalf("rule %+v", r)
	}
	e := r.PostHooks[0].Exec
	if e.Container != "webcontainer" || len(e.Command) != 3 || e.OnError != v1alpha1.HookErrorContinue ||
		e.ExecTimeout.Duration != 30*time.Second || e.WaitTimeout.Duration != 5*time.Minute {
		t.Fatalf("postHooks[0] %+v", e)
	}
}

func TestLoadMissingObject(t *testing.T) {
	dyn := dynamicClient(t, readTestdata(t, "aks-backuphook.yaml"))
	_, err := LoadBackupHooks(t.Context(), dyn, []string{"default/nope"})
	want := "BackupHook default/nope not found: create it (kubectl apply -f ...) or fix --backup-hook"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	_, err = LoadRestoreHooks(t.Context(), dyn, []string{"default/nope", "bad"})
	if err == nil || !strings.Contains(err.Error(), "RestoreHook default/nope not found") || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("error = %v, want both problems", err)
	}
}

func TestLoadWithoutCRD(t *testing.T) {
	dyn := dynamicClient(t)
	dyn.PrependReactor("*", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		gr := a.GetResource().GroupResource()
		return true, nil, apierrors.NewGenericServerResponse(404, a.GetVerb(), gr, "", "404 page not found", 0, true)
	})
	_, err := LoadBackupHooks(t.Context(), dyn, []string{"default/x"})
	if err == nil || !strings.Contains(err.Error(), "CRD") || !strings.Contains(err.Error(), "not installed") ||
		!strings.Contains(err.Error(), "cairn hooks install-crds") {
		t.Fatalf("error = %v, want one saying the CRD is missing and how to install it", err)
	}
}

func TestLoadBadDuration(t *testing.T) {
	doc := strings.Replace(readTestdata(t, "aks-restorehook.yaml"), "waitTimeout: 5m", "waitTimeout: soon", 1)
	_, err := LoadRestoreHooks(t.Context(), dynamicClient(t, doc), []string{"default/restorehookname0"})
	if err == nil || !strings.Contains(err.Error(), "RestoreHook default/restorehookname0") || !strings.Contains(err.Error(), "30s or 5m") {
		t.Fatalf("error = %v, want one naming the object and the duration form", err)
	}
}

func TestLoadValidates(t *testing.T) {
	doc := strings.Replace(readTestdata(t, "aks-backuphook.yaml"), "onError: Continue", "onError: Sometimes", 1)
	_, err := LoadBackupHooks(t.Context(), dynamicClient(t, doc), []string{"default/bkphookname0"})
	want := `BackupHook default/bkphookname0: spec.backupHook[0].preHooks[0].exec.onError "Sometimes": use Continue or Fail`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}
