//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// TestBackupRestore backs up a cluster holding a broad set of real-world objects once, then
// restores it in every way a user would: into another cluster, item by item, under other
// namespaces, over existing objects with each conflict policy, with modifiers, as a dry run, and
// into the same cluster after a namespace was deleted.
func TestBackupRestore(t *testing.T) {
	ctx := t.Context()
	src := startCluster(t, "rt-source")
	dst := startCluster(t, "rt-target")
	manifests, err := testenv.ReadManifests(filepath.Join("testdata", "realworld"))
	if err != nil {
		t.Fatal(err)
	}
	srcCfg, err := src.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.ApplyManifests(ctx, srcCfg, manifests); err != nil {
		t.Fatal(err)
	}
	repo := storageURL(t)
	out := mustCairn(t, src, "backup", "create", "full", "--storage", repo)
	t.Logf("backup:\n%s", out)
	srcObjs, dstObjs := objectsOf(t, src), objectsOf(t, dst)

	t.Run("verify and list", func(t *testing.T) {
		out := mustCairn(t, nil, "backup", "verify", "full", "--storage", repo)
		if !strings.Contains(out, "full: intact") {
			t.Fatalf("verify: %s", out)
		}
		out = mustCairn(t, nil, "backup", "list", "--storage", repo, "-o", "json")
		if !strings.Contains(out, `"phase": "Completed"`) {
			t.Fatalf("list: %s", out)
		}
		// Every type a real apiserver serves, custom resources included, lists at one version.
		out = mustCairn(t, nil, "backup", "describe", "full", "--storage", repo)
		if !regexp.MustCompile(`state at: +resourceVersion \d+ \(every object\)`).MatchString(out) {
			t.Fatalf("describe: %s", out)
		}
	})

	t.Run("round trip into another cluster", func(t *testing.T) {
		res := restoreJSON(t, dst, "restore", "create", "to-target", "--from", "full", "--storage", repo)
		if res.Phase != restore.PhaseCompleted || res.Counts.Failed > 0 {
			t.Fatalf("restore: %s %+v", res.Phase, failures(res))
		}
		for _, m := range manifests {
			assertRestored(ctx, t, srcObjs, dstObjs, m, "")
		}
		// Pods of the Deployment are not restored: the restored Deployment makes its own.
		for _, it := range res.Items {
			if it.Resource == "replicasets.apps" && it.Action != restore.ActionSkip {
				t.Errorf("ReplicaSet %s/%s was %s, want skip", it.Namespace, it.Name, it.Action)
			}
		}
	})

	t.Run("item-level restore", func(t *testing.T) {
		cm := find(t, manifests, "ConfigMap", "shop", "app-config")
		if err := srcObjs.resource(t, cm, "shop").Delete(ctx, "app-config", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		res := restoreJSON(t, src, "restore", "create", "one-item", "--from", "full", "--storage", repo,
			"--include-namespaces", "shop", "--include-resources", "configmaps", "--names", "app-config")
		if res.Counts.Created != 1 || res.Counts.Failed != 0 {
			t.Fatalf("want exactly one create: %+v %+v", res.Counts, res.Items)
		}
		assertRestored(ctx, t, dstObjs, srcObjs, cm, "")
	})

	t.Run("namespace mapping", func(t *testing.T) {
		res := restoreJSON(t, src, "restore", "create", "mapped", "--from", "full", "--storage", repo,
			"--include-namespaces", "shop", "--namespace-mapping", "shop=shop-copy")
		if res.Counts.Failed > 0 {
			t.Fatalf("restore: %+v", failures(res))
		}
		for _, m := range manifests {
			if m.GetNamespace() == "shop" && m.GetKind() != "Pod" {
				if srcObjs.get(ctx, t, m, "shop-copy") == nil {
					t.Errorf("%s %s not restored into shop-copy", m.GetKind(), m.GetName())
				}
			}
		}
		rb := srcObjs.get(ctx, t, find(t, manifests, "RoleBinding", "shop", "api-shop-reader"), "shop-copy")
		subjects, _, _ := unstructured.NestedSlice(rb.Object, "subjects")
		if ns := subjects[0].(map[string]any)["namespace"]; ns != "shop-copy" {
			t.Errorf("RoleBinding subject namespace = %v, want shop-copy", ns)
		}
	})

	t.Run("conflict policies", func(t *testing.T) {
		cm := find(t, manifests, "ConfigMap", "shop", "app-config")
		ri := dstObjs.resource(t, cm, "shop")
		drift := func() string {
			live, err := ri.Get(ctx, "app-config", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_ = unstructured.SetNestedField(live.Object, "drifted", "data", "drift")
			if _, err := ri.Update(ctx, live, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			return string(live.GetUID())
		}
		restoreCM := func(name, policy string, dryRun bool, extra ...string) restore.ItemResult {
			args := []string{"restore", "create", name, "--from", "full", "--storage", repo, "--include-namespaces", "shop",
				"--include-resources", "configmaps", "--names", "app-config", "--conflict-policy", policy}
			if dryRun {
				args = append(args, "--dry-run")
			}
			args = append(args, extra...)
			res := restoreJSON(t, dst, args...)
			for _, it := range res.Items {
				if it.Name == "app-config" {
					return it
				}
			}
			t.Fatalf("no result for app-config: %+v", res.Items)
			return restore.ItemResult{}
		}
		drifted := func() bool {
			live, _ := ri.Get(ctx, "app-config", metav1.GetOptions{})
			_, found, _ := unstructured.NestedString(live.Object, "data", "drift")
			return found
		}
		drift()
		if it := restoreCM("skip", "skip", false, "--skip-preflight"); it.Action != restore.ActionSkip || !drifted() {
			t.Errorf("skip: %+v, drifted=%v", it, drifted())
		}
		it := restoreCM("patch-dry", "patch", true)
		if it.Action != restore.ActionPatch || !strings.Contains(it.Diff, "drift") || !drifted() {
			t.Errorf("dry-run patch: %+v, drifted=%v", it, drifted())
		}
		if it := restoreCM("patch", "patch", false); it.Action != restore.ActionPatch || drifted() {
			t.Errorf("patch: %+v, drifted=%v", it, drifted())
		}
		if it := restoreCM("patch-again", "patch", false); it.Action != restore.ActionUnchanged {
			t.Errorf("patch of an object in the backed-up state: %+v", it)
		}
		uid := drift()
		if it := restoreCM("recreate", "recreate", false); it.Action != restore.ActionRecreate || drifted() {
			t.Errorf("recreate: %+v, drifted=%v", it, drifted())
		}
		live, _ := ri.Get(ctx, "app-config", metav1.GetOptions{})
		if string(live.GetUID()) == uid {
			t.Error("recreate kept the object's uid: it was not recreated")
		}
	})

	t.Run("modifiers", func(t *testing.T) {
		rules := filepath.Join(t.TempDir(), "modifiers.yaml")
		if err := os.WriteFile(rules, []byte(`version: v1
resourceModifierRules:
- conditions:
    groupResource: deployments.apps
    namespaces: [analytics-mod]
  patches:
  - operation: replace
    path: /spec/replicas
    value: "0"
  mergePatches:
  - patchData: |
      metadata:
        labels:
          restored: "yes"
`), 0o600); err != nil {
			t.Fatal(err)
		}
		res := restoreJSON(t, src, "restore", "create", "modified", "--from", "full", "--storage", repo,
			"--include-namespaces", "analytics", "--namespace-mapping", "analytics=analytics-mod", "--modifiers", rules)
		if res.Counts.Failed > 0 {
			t.Fatalf("restore: %+v", failures(res))
		}
		d := srcObjs.get(ctx, t, find(t, manifests, "Deployment", "analytics", "etl"), "analytics-mod")
		replicas, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
		if replicas != 0 || d.GetLabels()["restored"] != "yes" {
			t.Fatalf("modifiers not applied: replicas=%d labels=%v", replicas, d.GetLabels())
		}
	})

	t.Run("dry run changes nothing", func(t *testing.T) {
		res := restoreJSON(t, src, "restore", "create", "dry", "--from", "full", "--storage", repo,
			"--include-namespaces", "shop", "--namespace-mapping", "shop=shop-dry", "--dry-run")
		if !res.DryRun || res.Counts.Created == 0 || res.Counts.Failed > 0 {
			t.Fatalf("dry run: %+v %+v", res.Counts, failures(res))
		}
		client, err := src.Client()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.CoreV1().Namespaces().Get(ctx, "shop-dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("a dry run created namespace shop-dry (err=%v)", err)
		}
		out := mustCairn(t, nil, "restore", "describe", "dry", "--storage", repo)
		if !strings.Contains(out, "dry run: nothing was changed") {
			t.Fatalf("describe of a dry run: %s", out)
		}
	})

	t.Run("same cluster after the namespace was deleted", func(t *testing.T) {
		client, err := src.Client()
		if err != nil {
			t.Fatal(err)
		}
		if err := client.CoreV1().Namespaces().Delete(ctx, "analytics", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := client.CoreV1().Namespaces().Get(ctx, "analytics", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Fatalf("namespace analytics did not go away: %v", err)
		}
		res := restoreJSON(t, src, "restore", "create", "back", "--from", "full", "--storage", repo, "--include-namespaces", "analytics")
		if res.Counts.Failed > 0 {
			t.Fatalf("restore: %+v", failures(res))
		}
		for _, m := range manifests {
			if m.GetNamespace() == "analytics" || (m.GetKind() == "Namespace" && m.GetName() == "analytics") {
				assertRestored(ctx, t, dstObjs, srcObjs, m, "") // dst holds the faithful restore of the same backup
			}
		}
	})

	t.Run("tampering and wrong passphrase", func(t *testing.T) {
		root := strings.TrimPrefix(repo, "file://")
		packs, _ := filepath.Glob(filepath.Join(root, "backups", "full", "packs", "*.pack"))
		if len(packs) == 0 {
			t.Fatal("no packs")
		}
		data, err := os.ReadFile(packs[0])
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 1
		if err := os.WriteFile(packs[0], data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, _, err := cairn(t, nil, "backup", "verify", "full", "--storage", repo)
		if err == nil || !strings.Contains(out, "DAMAGED") {
			t.Fatalf("verify of a tampered backup: %v\n%s", err, out)
		}
		wrong := filepath.Join(t.TempDir(), "pass")
		_ = os.WriteFile(wrong, []byte("not-the-passphrase"), 0o600)
		_, _, err = cairn(t, nil, "backup", "list", "--storage", repo, "--passphrase-file", wrong)
		if err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
			t.Fatalf("wrong passphrase: %v", err)
		}
	})
}

func startCluster(t *testing.T, name string) *localcluster.Cluster {
	t.Helper()
	c, err := testenv.StartCluster(t.Context(), name, testenv.ControlPlane)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := testenv.StopCluster(context.Background(), c); err != nil {
			t.Error(err)
		}
	})
	return c
}

func restoreJSON(t *testing.T, c *localcluster.Cluster, args ...string) restore.Result {
	t.Helper()
	out, errOut, err := cairn(t, c, append(args, "-o", "json")...)
	var res restore.Result
	if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
		t.Fatalf("cairn %s: %v (%v)\n%s\n%s", strings.Join(args, " "), err, jerr, out, errOut)
	}
	return res
}

func failures(res restore.Result) []restore.ItemResult {
	var out []restore.ItemResult
	for _, it := range res.Items {
		if it.Action == restore.ActionFail {
			out = append(out, it)
		}
	}
	return out
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetNamespace() == ns && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s/%s in the manifests", kind, ns, name)
	return nil
}
