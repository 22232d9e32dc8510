//go:build integration

package integration

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/restore"
)

// TestRestorePreflight runs `cairn restore create` from a repository with its pre-flight checks:
// printed on stderr before the result, a failed one stopping the restore before it records
// anything, and --skip-preflight going without them.
func TestRestorePreflight(t *testing.T) {
	ctx := t.Context()
	client, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pf-shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps("pf-shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data: map[string]string{"currency": "EUR"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	repo := storageURL(t)
	mustCairn(t, source, "backup", "create", "pf-1", "--storage", repo, "--include-namespaces", "pf-shop")

	// Into the namespace it came from, which holds every object: nothing would be restored.
	out, errOut, err := cairn(t, source, "restore", "create", "pf-same", "--from", "pf-1", "--storage", repo, "-o", "json")
	if err == nil || !strings.HasPrefix(err.Error(), "pre-flight check conflicts failed: ") || !strings.Contains(err.Error(), "nothing would be restored") {
		t.Fatalf("restore over existing objects: %v\nstderr:\n%s", err, errOut)
	}
	if out != "" {
		t.Errorf("a restore stopped by its checks printed a result:\n%s", out)
	}
	for _, want := range []string{"checks:\n", "  ok   cli             cairn ", "(Kubernetes v1.35.4)",
		"  ok   storage         the repository at " + repo + " opens with the passphrase in CAIRN_PASSPHRASE",
		`  ok   recovery-point  recovery point "pf-1": Completed`, "  ok   permissions     the cluster user may do the ",
		"  FAIL conflicts       "} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if list := mustCairn(t, nil, "restore", "list", "--storage", repo); strings.Contains(list, "pf-same") {
		t.Errorf("the checks' dry run was recorded:\n%s", list)
	}

	// Into another namespace: the checks pass and stdout is the result alone.
	out, errOut, err = cairn(t, source, "restore", "create", "pf-copy", "--from", "pf-1", "--storage", repo,
		"--namespace-mapping", "pf-shop=pf-copy", "-o", "json")
	var res restore.Result
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Phase != restore.PhaseCompleted || res.Counts.Created == 0 {
		t.Fatalf("restore into another namespace: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if !strings.Contains(errOut, "  ok   conflicts       none of the ") {
		t.Errorf("stderr:\n%s", errOut)
	}

	// Without the checks the restore runs, and skips what exists.
	out, errOut, err = cairn(t, source, "restore", "create", "pf-skipped", "--from", "pf-1", "--storage", repo, "--skip-preflight", "-o", "json")
	res = restore.Result{}
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Counts.Created != 0 || res.Counts.Skipped == 0 || strings.Contains(errOut, "checks:") {
		t.Fatalf("restore without checks: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
}
