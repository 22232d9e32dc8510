//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/restore"
)

var installCRDs sync.Once

// applyYAML installs cairn's CRDs (once) and applies a manifest with kubectl, as a user would.
func applyYAML(t *testing.T, doc string) {
	t.Helper()
	installCRDs.Do(func() {
		if _, err := cairn(t, nil, "hooks", "install-crds"); err != nil {
			t.Fatal(err)
		}
	})
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bins.Kube("kubectl"), "--kubeconfig", cluster.State.Kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(doc)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// hookPod runs a busybox pod with a CSI volume at /data, optionally with a startup delay before it
// is ready (a readiness probe on /tmp/ready).
func hookPod(ctx context.Context, t *testing.T, ns, name, container string, delay int) {
	t.Helper()
	client := clientOf(t, cluster)
	if _, err := client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, claim(ns, name, localcluster.CSIStorageClass), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{
				Name: container, Image: localcluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
				Command:      []string{"sh", "-c", "sleep " + strconv.Itoa(delay) + "; touch /tmp/ready; exec sleep 3600"},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
				ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
					Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/ready"}}}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRunningPod(ctx, t, client, ns, "app="+name)
}

// fileIn tells whether path exists in the pod's container.
func fileIn(ctx context.Context, t *testing.T, ns, pod, container, path string) bool {
	t.Helper()
	client := clientOf(t, cluster)
	p, err := client.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, code := execInPod(ctx, t, restConfigOf(t, cluster), client, *p, container, []string{"test", "-e", path})
	return code == 0
}

func hookRuns(execs []archive.HookExecution, hook, phase string) []archive.HookExecution {
	var out []archive.HookExecution
	for _, e := range execs {
		if strings.HasSuffix(e.Hook, "/"+hook) && e.Phase == phase {
			out = append(out, e)
		}
	}
	return out
}

// TestBackupHooksRunAroundTheSnapshot: a pre-hook writes a marker into the volume, the post-hook
// removes it. The live pod ends without the marker; the snapshot, taken between the two, holds it.
func TestBackupHooksRunAroundTheSnapshot(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	createNamespace(ctx, t, client, "hk-app")
	hookPod(ctx, t, "hk-app", "db", "main", 0)
	applyYAML(t, `
apiVersion: clusterbackup.dataprotection.microsoft.com/v1alpha1
kind: BackupHook
metadata: {name: freeze, namespace: hk-app}
spec:
  backupHook:
  - name: marker
    includedNamespaces: [hk-app]
    labelSelector: {matchLabels: {app: db}}
    preHooks:
    - exec: {container: main, command: [touch, /data/frozen], onError: Fail, timeout: 10s}
    postHooks:
    - exec: {command: [rm, /data/frozen]}
`)
	storage := "file://" + t.TempDir()
	out, err := cairn(t, nil, "backup", "create", "hk-1", "--storage", storage, "--include-namespaces", "hk-app", "--backup-hook", "hk-app/freeze")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "hk-app/freeze/marker") {
		t.Fatalf("the backup output does not list the hook runs:\n%s", out)
	}
	rp := describeBackup(t, storage, "hk-1")
	pre, post := hookRuns(rp.Hooks, "marker", "pre"), hookRuns(rp.Hooks, "marker", "post")
	if len(pre) != 1 || len(post) != 1 || pre[0].Outcome != archive.HookSucceeded || post[0].Outcome != archive.HookSucceeded ||
		pre[0].Pod != "db" || post[0].Container != "main" || pre[0].ExitCode != 0 {
		t.Fatalf("hook runs: %+v", rp.Hooks)
	}
	if fileIn(ctx, t, "hk-app", "db", "main", "/data/frozen") {
		t.Fatal("the post-hook did not remove the marker")
	}
	if _, err := cairn(t, nil, "restore", "create", "hk-1-r", "--from", "hk-1", "--storage", storage, "--namespace-mapping", "hk-app=hk-copy"); err != nil {
		t.Fatal(err)
	}
	waitRunningPod(ctx, t, client, "hk-copy", "app=db")
	if !fileIn(ctx, t, "hk-copy", "db", "main", "/data/frozen") {
		t.Fatal("the snapshot was not taken between the pre- and the post-hook")
	}
}

// TestBackupHookFailures: Fail aborts the backup and still thaws; Continue warns; a timeout is enforced.
func TestBackupHookFailures(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	createNamespace(ctx, t, client, "hk-fail")
	hookPod(ctx, t, "hk-fail", "app", "main", 0)
	applyYAML(t, `
apiVersion: clusterbackup.dataprotection.microsoft.com/v1alpha1
kind: BackupHook
metadata: {name: failing, namespace: hk-fail}
spec:
  backupHook:
  - name: must-work
    includedNamespaces: [hk-fail]
    preHooks:
    - exec: {command: ["false"], onError: Fail}
    - exec: {command: [touch, /tmp/never]}
    postHooks:
    - exec: {command: [touch, /tmp/thawed]}
---
apiVersion: clusterbackup.dataprotection.microsoft.com/v1alpha1
kind: BackupHook
metadata: {name: tolerant, namespace: hk-fail}
spec:
  backupHook:
  - name: may-fail
    includedNamespaces: [hk-fail]
    preHooks:
    - exec: {command: [sh, -c, "echo broken >&2; exit 3"], onError: Continue}
    - exec: {command: [sleep, "30"], onError: Continue, timeout: 2s}
`)
	storage := "file://" + t.TempDir()

	_, err := cairn(t, nil, "backup", "create", "hk-fail-1", "--storage", storage, "--include-namespaces", "hk-fail", "--backup-hook", "hk-fail/failing")
	if err == nil {
		t.Fatal("a failing Fail hook did not fail the backup")
	}
	rp := describeBackup(t, storage, "hk-fail-1")
	if rp.Result.Phase != archive.PhaseFailed || rp.Result.Items != 0 {
		t.Fatalf("phase %s with %d items, want Failed with none", rp.Result.Phase, rp.Result.Items)
	}
	pre := hookRuns(rp.Hooks, "must-work", "pre")
	if len(pre) != 1 || pre[0].Outcome != archive.HookFailed || pre[0].ExitCode != 1 {
		t.Fatalf("pre-hook runs (the second must not start): %+v", pre)
	}
	if !fileIn(ctx, t, "hk-fail", "app", "main", "/tmp/thawed") || fileIn(ctx, t, "hk-fail", "app", "main", "/tmp/never") {
		t.Fatal("after a failed pre-hook the post-hook must run and the remaining pre-hooks must not")
	}

	began := time.Now()
	if _, err := cairn(t, nil, "backup", "create", "hk-fail-2", "--storage", storage, "--include-namespaces", "hk-fail", "--backup-hook", "hk-fail/tolerant"); err != nil {
		t.Fatalf("Continue hooks failed the backup: %v", err)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Fatalf("the 2s hook timeout was not enforced: the backup took %s", took)
	}
	rp = describeBackup(t, storage, "hk-fail-2")
	pre = hookRuns(rp.Hooks, "may-fail", "pre")
	if rp.Result.Phase != archive.PhaseCompleted || len(pre) != 2 || pre[0].ExitCode != 3 || !strings.Contains(pre[0].Stderr, "broken") ||
		pre[1].Outcome != archive.HookTimedOut || pre[1].DurationSeconds > 10 {
		t.Fatalf("phase %s, runs %+v", rp.Result.Phase, pre)
	}
	if !containsLine(rp.Result.Warnings, "hook") {
		t.Fatalf("no warning for the failed Continue hooks: %v", rp.Result.Warnings)
	}
}

// TestRestoreHooksWaitForTheirContainer: a restore hook waits for a slow container to be ready;
// one whose container never starts is reported after its waitTimeout without holding the restore.
func TestRestoreHooksWaitForTheirContainer(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	createNamespace(ctx, t, client, "hk-rs")
	hookPod(ctx, t, "hk-rs", "slow", "main", 4)
	zero := int64(0)
	never := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "never", Namespace: "hk-rs", Labels: map[string]string{"app": "never"}},
		Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &zero, Containers: []corev1.Container{{
			Name: "main", Image: "local/does-not-exist:1", ImagePullPolicy: corev1.PullNever}}},
	}
	if _, err := client.CoreV1().Pods("hk-rs").Create(ctx, never, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	storage := "file://" + t.TempDir()
	if _, err := cairn(t, nil, "backup", "create", "hk-rs-1", "--storage", storage, "--include-namespaces", "hk-rs"); err != nil {
		t.Fatal(err)
	}
	applyYAML(t, `
apiVersion: clusterbackup.dataprotection.microsoft.com/v1alpha1
kind: RestoreHook
metadata: {name: after, namespace: hk-rs}
spec:
  restoreHook:
  - name: when-ready
    includedNamespaces: [hk-rs-copy]
    labelSelector: {matchLabels: {app: slow}}
    postHooks:
    - exec: {container: main, command: [cat, /tmp/ready], waitTimeout: 2m, execTimeout: 10s}
  - name: same-namespace
    includedNamespaces: [hk-rs]
    labelSelector: {matchLabels: {app: slow}}
    postHooks:
    - exec: {command: [touch, /tmp/hooked], waitTimeout: 2m}
  - name: never-starts
    includedNamespaces: [hk-rs-copy]
    labelSelector: {matchLabels: {app: never}}
    postHooks:
    - exec: {command: ["true"], waitTimeout: 3s}
`)
	began := time.Now()
	if _, err := cairn(t, nil, "restore", "create", "hk-rs-r", "--from", "hk-rs-1", "--storage", storage,
		"--namespace-mapping", "hk-rs=hk-rs-copy", "--restore-hook", "hk-rs/after"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > time.Minute {
		t.Fatalf("the restore took %s", took)
	}
	res := describeRestore(t, storage, "hk-rs-r")
	ready, stuck := hookRuns(res.Hooks, "when-ready", "post"), hookRuns(res.Hooks, "never-starts", "post")
	if len(ready) != 1 || ready[0].Outcome != archive.HookSucceeded || ready[0].Pod != "slow" {
		t.Fatalf("hook in the slow pod: %+v", res.Hooks)
	}
	if ready[0].StartedAt.Sub(res.StartedAt) < 2*time.Second {
		t.Fatalf("the hook ran %s after the restore started: it did not wait for readiness", ready[0].StartedAt.Sub(res.StartedAt))
	}
	if len(stuck) != 1 || stuck[0].Outcome != archive.HookNotRun || !strings.Contains(stuck[0].Error, "3s") {
		t.Fatalf("hook in the pod that never starts: %+v", stuck)
	}
	if res.Phase != restore.PhaseCompleted {
		t.Fatalf("a Continue restore hook that could not run made the restore %s", res.Phase)
	}
	if len(hookRuns(res.Hooks, "same-namespace", "post")) != 0 {
		t.Fatal("a rule for another namespace ran")
	}

	// Into the namespace the backup came from, after it was deleted: the hooks run there too.
	deleteNamespace(ctx, t, client, "hk-rs")
	if _, err := cairn(t, nil, "restore", "create", "hk-rs-same", "--from", "hk-rs-1", "--storage", storage,
		"--restore-hook", "hk-rs/after"); err == nil {
		t.Fatal("the RestoreHook was deleted with its namespace, yet the restore found it")
	}
	applyYAML(t, `
apiVersion: v1
kind: Namespace
metadata: {name: hk-hooks}
---
apiVersion: clusterbackup.dataprotection.microsoft.com/v1alpha1
kind: RestoreHook
metadata: {name: after, namespace: hk-hooks}
spec:
  restoreHook:
  - name: same-namespace
    includedNamespaces: [hk-rs]
    labelSelector: {matchLabels: {app: slow}}
    postHooks:
    - exec: {command: [touch, /tmp/hooked], waitTimeout: 2m}
`)
	if _, err := cairn(t, nil, "restore", "create", "hk-rs-same", "--from", "hk-rs-1", "--storage", storage,
		"--restore-hook", "hk-hooks/after"); err != nil {
		t.Fatal(err)
	}
	if runs := hookRuns(describeRestore(t, storage, "hk-rs-same").Hooks, "same-namespace", "post"); len(runs) != 1 || runs[0].Outcome != archive.HookSucceeded {
		t.Fatalf("hook runs in the original namespace: %+v", runs)
	}
	if !fileIn(ctx, t, "hk-rs", "slow", "main", "/tmp/hooked") {
		t.Fatal("the hook did not run in the pod restored into its own namespace")
	}
}

// TestAKSSampleHookManifests applies the two sample manifests of the AKS backup documentation
// verbatim (docs/samples) and runs them.
func TestAKSSampleHookManifests(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	for _, f := range []string{"aks-backuphook.yaml", "aks-restorehook.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "docs", "samples", f))
		if err != nil {
			t.Fatal(err)
		}
		applyYAML(t, string(data))
	}
	createNamespace(ctx, t, client, "hrweb")
	hookPod(ctx, t, "hrweb", "web", "webcontainer", 0)
	storage := "file://" + t.TempDir()
	if _, err := cairn(t, nil, "backup", "create", "aks-1", "--storage", storage, "--include-namespaces", "hrweb",
		"--backup-hook", "default/bkphookname0"); err != nil {
		t.Fatal(err)
	}
	rp := describeBackup(t, storage, "aks-1")
	if pre, post := hookRuns(rp.Hooks, "hook1", "pre"), hookRuns(rp.Hooks, "hook1", "post"); len(pre) != 2 || len(post) != 1 {
		t.Fatalf("hook runs: %+v", rp.Hooks)
	}
	for _, e := range rp.Hooks {
		if e.Outcome != archive.HookSucceeded || e.Container != "webcontainer" {
			t.Fatalf("hook run: %+v", e)
		}
	}
	if !strings.Contains(hookRuns(rp.Hooks, "hook1", "pre")[0].Stdout, "Linux") {
		t.Fatalf("uname -a printed %q", hookRuns(rp.Hooks, "hook1", "pre")[0].Stdout)
	}
	if _, err := cairn(t, nil, "restore", "create", "aks-1-r", "--from", "aks-1", "--storage", storage,
		"--namespace-mapping", "hrweb=hrweb-restored", "--restore-hook", "default/restorehookname0"); err != nil {
		t.Fatal(err)
	}
	res := describeRestore(t, storage, "aks-1-r")
	runs := hookRuns(res.Hooks, "myhook-1", "post")
	if len(runs) != 1 || runs[0].Outcome != archive.HookSucceeded || runs[0].Namespace != "hrweb-restored" {
		t.Fatalf("restore hook runs: %+v", res.Hooks)
	}
	if !fileIn(ctx, t, "hrweb-restored", "web", "webcontainer", "goodbye.txt") {
		t.Fatal("the restore hook's command did not run in the restored container")
	}
}
