package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
)

const testModifiers = `version: v1
resourceModifierRules:
- conditions:
    groupResource: deployments.apps
  patches:
  - operation: replace
    path: "/spec/replicas"
    value: "1"
`

// TestRestoreThroughTheVault restores a recovery point into another cluster: the flags become the
// job's restore options, and --wait follows the job to its summary.
func TestRestoreThroughTheVault(t *testing.T) {
	v := startTestVault(t)
	prod := v.protect(t, "prod", "shop")
	staging := v.register(t, "staging")
	done := v.runAsync(t, "instance", "backup-now", "shop", "--wait", "--poll-interval", "20ms")
	backup, err := prod.runBackup(vaultv1.JobSucceeded, "")
	if err != nil {
		t.Fatal(err)
	}
	if r := await(t, done); r.err != nil {
		t.Fatal(r.err)
	}
	rp := backup.Spec.Backup.RecoveryPoint

	modifiers := filepath.Join(t.TempDir(), "modifiers.yaml")
	if err := os.WriteFile(modifiers, []byte(testModifiers), 0o600); err != nil {
		t.Fatal(err)
	}
	var queued vaultv1.Job
	v.jsonOut(t, &queued, "restore", "create", "--from", rp, "--target-cluster", "staging",
		"--include-namespaces", "shop", "--exclude-resources", "events", "-l", "app=web", "--include-cluster-resources", "true",
		"--names", "web-*", "--namespace-mapping", "shop=shop-copy", "--storage-class-mapping", "fast=standard",
		"--conflict-policy", "patch", "--volumes", "empty", "--restore-hook", "shop/warm-cache", "--modifiers", modifiers, "--dry-run")
	want := vaultv1.RestoreOptions{IncludeNamespaces: []string{"shop"}, ExcludeResources: []string{"events"}, LabelSelectors: []string{"app=web"},
		ClusterResources: "true", Names: []string{"web-*"}, NamespaceMapping: map[string]string{"shop": "shop-copy"},
		StorageClassMapping: map[string]string{"fast": "standard"}, ConflictPolicy: "patch", Volumes: "empty",
		RestoreHooks: []string{"shop/warm-cache"}, Modifiers: testModifiers, DryRun: true}
	if queued.Kind != agentv1.KindRestore || queued.Cluster != "staging" || queued.Spec.Restore == nil ||
		!reflect.DeepEqual(queued.Spec.Restore.Options, want) || queued.Spec.Restore.RecoveryPoint != rp || queued.Spec.Restore.SourceCluster != "prod" {
		t.Fatalf("queued restore: %+v\nspec %+v\nwant options %+v", queued, queued.Spec.Restore, want)
	}
	v.ok(t, "job", "cancel", fmt.Sprint(queued.ID))

	// Defaults, --wait: the agent of the recovery point's own cluster restores it.
	done = v.runAsync(t, "restore", "create", "--from", rp, "--wait", "--poll-interval", "20ms")
	j, err := prod.claim()
	if err != nil {
		t.Fatal(err)
	}
	if j.Kind != agentv1.KindRestore || j.Spec.Restore.Options.ConflictPolicy != "skip" || j.Spec.Restore.Options.Volumes != "data" {
		t.Errorf("restore job: %+v %+v", j, j.Spec.Restore)
	}
	now := time.Now().UTC()
	if err := prod.complete(j.ID, agentv1.Completion{State: agentv1.JobSucceeded, Logs: []agentv1.LogLine{{Time: now, Level: "info", Message: "restored 12 objects"}},
		Result: &agentv1.JobResult{
			Checks: []agentv1.Check{{Name: "storage", OK: true, Message: "repository readable"}, {Name: "conflicts", OK: true, Message: "2 objects exist"}},
			Restore: &agentv1.RestoreSummary{Name: j.Spec.Restore.Name, Phase: "Completed", Created: 10, Skipped: 2, Volumes: 1,
				Items: []agentv1.RestoreItem{{Resource: "configmaps", Namespace: "shop", Name: "settings", Action: "skip", Reason: "exists"}}},
		}}); err != nil {
		t.Fatal(err)
	}
	r := await(t, done)
	if r.err != nil {
		t.Fatalf("restore --wait: %v\n%s", r.err, r.stderr)
	}
	for _, w := range []string{fmt.Sprintf("job %d: restore succeeded", j.ID), `restore "` + j.Spec.Restore.Name + `": Completed`,
		"created 10, patched 0, recreated 0, unchanged 0, skipped 2, failed 0; 1 volumes", "ok   storage"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	if !regexpLine(r.stdout, `\s+skip\s+configmaps\s+shop\s+settings\s+exists`) {
		t.Errorf("stdout lacks the skipped item:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "restored 12 objects") {
		t.Errorf("stderr:\n%s", r.stderr)
	}

	// A failed pre-flight fails --wait with the job's error.
	done = v.runAsync(t, "restore", "create", "--from", rp, "--target-cluster", "staging", "--wait", "--poll-interval", "20ms")
	if j, err = staging.claim(); err != nil {
		t.Fatal(err)
	}
	if err := staging.complete(j.ID, agentv1.Completion{State: agentv1.JobFailed, Error: "pre-flight: storage: no credential for s3",
		Result: &agentv1.JobResult{Checks: []agentv1.Check{{Name: "storage", OK: false, Message: "no credential for s3"}}}}); err != nil {
		t.Fatal(err)
	}
	r = await(t, done)
	if r.err == nil || !strings.Contains(r.err.Error(), "failed: pre-flight: storage: no credential for s3") || !strings.Contains(r.stdout, "FAIL storage") {
		t.Errorf("failed restore: %v\n%s", r.err, r.stdout)
	}

	// The vault checks the request before it queues anything.
	v.fails(t, "422", "restore", "create", "--from", "nope")
	v.fails(t, "422", "restore", "create", "--from", rp, "--target-cluster", "nope")
}

func TestRestoreCreateFlagErrors(t *testing.T) {
	v := &testVault{home: t.TempDir()}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("resourceModifierRules: [{"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		// Through the vault (no --storage).
		{[]string{"restore", "create"}, "--from is required: the recovery point to restore"},
		{[]string{"restore", "create", "r1", "--from", "nightly"}, `NAME "r1": a restore through the vault is named by the vault, so drop NAME; or give --storage URL`},
		{[]string{"restore", "create", "--from", "rp", "--parallelism", "4"}, "--parallelism is for a restore from a repository (--storage)"},
		{[]string{"restore", "create", "--from", "rp", "--passphrase-file", "p"}, "--passphrase-file is for a restore from a repository"},
		{[]string{"restore", "create", "--from", "rp", "--kubeconfig", "k"}, "name the cluster with --target-cluster"},
		{[]string{"restore", "create", "--from", "rp", "--conflict-policy", "merge"}, `--conflict-policy "merge": use skip, patch or recreate`},
		{[]string{"restore", "create", "--from", "rp", "--volumes", "all"}, `--volumes "all": use data, empty or skip`},
		{[]string{"restore", "create", "--from", "rp", "--namespace-mapping", "shop"}, "--namespace-mapping: namespace mapping \"shop\": write old=new"},
		{[]string{"restore", "create", "--from", "rp", "--restore-hook", "x"}, "--restore-hook"},
		{[]string{"restore", "create", "--from", "rp", "--names", "[x"}, `--names "[x"`},
		{[]string{"restore", "create", "--from", "rp", "--modifiers", bad}, "--modifiers " + bad},
		{[]string{"restore", "create", "--from", "rp", "--modifiers", bad + ".missing"}, "read --modifiers"},
		{[]string{"restore", "create", "--from", "rp", "-o", "xml"}, `unknown output format "xml"`},
		{[]string{"restore", "create", "--from", "rp", "--wait", "--poll-interval", "-1s"}, "--poll-interval -1s"},
		{[]string{"restore", "create", "--from", "rp"}, "not logged in to a vault: run cairn login"},
		{[]string{"restore", "create", "--from", "rp"}, `or give --storage URL to restore backup "rp" from a repository`},
		// From a repository (--storage).
		{[]string{"restore", "create", "r1", "--from", "nightly", "--storage", "file:///b", "--target-cluster", "c"}, "--target-cluster is for a restore through the vault"},
		{[]string{"restore", "create", "r1", "--from", "nightly", "--storage", "file:///b", "--wait"}, "--wait is for a restore through the vault"},
		{[]string{"restore", "create", "--from", "nightly", "--storage", "file:///b"}, "name the restore: cairn restore create NAME --from BACKUP --storage URL"},
		{[]string{"restore", "create", "r1", "--storage", "file:///b"}, "name the backup to restore with --from"},
	} {
		v.fails(t, tc.want, tc.args...)
	}
}
