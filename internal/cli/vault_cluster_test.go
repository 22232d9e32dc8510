package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

func TestClusterRegisterListShowRevoke(t *testing.T) {
	v := startTestVault(t)
	manifest := filepath.Join(t.TempDir(), "prod-agent.yaml")
	out := v.ok(t, "cluster", "register", "prod", "--manifest-file", manifest)
	for _, want := range []string{`registered cluster "prod" (pending)`, "WARNING: shown only this once", "cairn_",
		"cairn agent install --vault " + v.url + " --token-file prod-agent.token", manifest, "cairn cluster show prod"} {
		if !strings.Contains(out, want) {
			t.Errorf("register output lacks %q:\n%s", want, out)
		}
	}
	if data, err := os.ReadFile(manifest); err != nil || string(data) != testManifest {
		t.Fatalf("manifest file: %v %q", err, data)
	}
	token := ""
	for _, line := range strings.Split(out, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "cairn_") {
			token = l
		}
	}
	agent := &fakeAgent{url: v.url, token: token}
	agent.heartbeat(t)

	v.fails(t, "409", "cluster", "register", "prod")
	v.register(t, "staging")

	out = v.ok(t, "cluster", "list")
	if !strings.Contains(out, "NAME") || !strings.Contains(out, "HEALTH") || !regexpLine(out, `prod\s+healthy\s+\S+\s+test\s+v1\.35\.0`) ||
		!regexpLine(out, `staging\s+healthy`) {
		t.Errorf("list:\n%s", out)
	}
	var list []vaultv1.Cluster
	v.jsonOut(t, &list, "cluster", "list")
	if len(list) != 2 || list[0].Name != "prod" || list[0].AgentVersion != "test" || list[0].LastHeartbeat == nil {
		t.Errorf("list -o json: %+v", list)
	}
	var fromYAML []vaultv1.Cluster
	if err := yaml.Unmarshal([]byte(v.ok(t, "cluster", "list", "-o", "yaml")), &fromYAML); err != nil || len(fromYAML) != 2 {
		t.Errorf("list -o yaml: %v %+v", err, fromYAML)
	}

	out = v.ok(t, "cluster", "show", "prod")
	if !strings.Contains(out, `cluster "prod"`) || !strings.Contains(out, "healthy") || !strings.Contains(out, "v1.35.0") ||
		!regexpLine(out, `\s+namespaces:\s+3 \(default,kube-system,shop\)$`) {
		t.Errorf("show:\n%s", out)
	}
	v.fails(t, "404", "cluster", "show", "nope")

	out = v.ok(t, "cluster", "revoke", "prod")
	if !strings.Contains(out, `revoked cluster "prod"`) {
		t.Errorf("revoke:\n%s", out)
	}
	if status, err := agent.call("/heartbeat", agentv1.Heartbeat{AgentVersion: "test"}, nil); status != http.StatusUnauthorized {
		t.Errorf("a revoked agent's heartbeat: %d %v", status, err)
	}
	var c vaultv1.Cluster
	v.jsonOut(t, &c, "cluster", "show", "prod")
	if c.Health != vaultv1.HealthRevoked {
		t.Errorf("health after revoke: %+v", c)
	}
	v.fails(t, "409", "cluster", "revoke", "prod")

	// Registering a revoked cluster grants anew.
	var g vaultv1.TrustGrant
	v.jsonOut(t, &g, "cluster", "register", "prod")
	if g.AgentToken == "" || g.AgentToken == token || g.Manifest != testManifest || g.Cluster.Health != vaultv1.HealthPending {
		t.Errorf("register again: %+v", g)
	}
}

func TestClusterVerbsNeedALogin(t *testing.T) {
	v := &testVault{home: t.TempDir()}
	for _, args := range [][]string{{"cluster", "list"}, {"cluster", "register", "x"}, {"cluster", "show", "x"}, {"cluster", "revoke", "x"}} {
		v.fails(t, "not logged in", args...)
	}
	v.fails(t, `unknown output format "xml"`, "cluster", "list", "-o", "xml")
}

func TestClusterRegisterTokenFile(t *testing.T) {
	v := startTestVault(t)
	tokenFile := filepath.Join(t.TempDir(), "dev-agent.token")
	out := v.ok(t, "cluster", "register", "dev", "--token-file", tokenFile)
	data, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(data))
	if !strings.HasPrefix(token, "cairn_") || strings.Contains(out, token) || !strings.Contains(out, "the agent token is in "+tokenFile) {
		t.Errorf("token %q, output:\n%s", token, out)
	}
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode: %v %v", fi.Mode(), err)
	}
	(&fakeAgent{url: v.url, token: token}).heartbeat(t)
	// An existing file is never overwritten: it may hold another cluster's token, shown only once.
	v.fails(t, "exists", "cluster", "register", "other", "--token-file", tokenFile)
	if again, _ := os.ReadFile(tokenFile); string(again) != string(data) {
		t.Error("token file overwritten")
	}
}

// TestRegisterSaysWhichGrant: cluster register says which trust grant it made and what it allows;
// a backup-only one names the restore grant and installs the agent with --grant backup-only; an
// unknown grant is refused, naming the flag and the grants, before the vault is asked.
func TestRegisterSaysWhichGrant(t *testing.T) {
	v := startTestVault(t)
	out := v.ok(t, "cluster", "register", "prod")
	if !regexpLine(out, `grant: full: `+regexp.QuoteMeta(trustgrant.Describe(trustgrant.GrantFull))+`$`) || strings.Contains(out, "--grant") {
		t.Errorf("full:\n%s", out)
	}
	out = v.ok(t, "cluster", "register", "archive", "--grant", "backup-only")
	if !regexpLine(out, `grant: backup-only: `+regexp.QuoteMeta(trustgrant.Describe(trustgrant.GrantBackupOnly))+`$`) ||
		!strings.Contains(out, "`cairn agent grant-restore`") || !strings.Contains(out, "--token-file archive-agent.token --grant backup-only --image") {
		t.Errorf("backup-only:\n%s", out)
	}
	var g vaultv1.TrustGrant
	v.jsonOut(t, &g, "cluster", "register", "archive-2", "--grant", "backup-only")
	if g.Grant != trustgrant.GrantBackupOnly {
		t.Errorf("-o json: grant %q", g.Grant)
	}
	v.fails(t, `--grant: grant "read-only": use `+trustgrant.GrantChoices(), "cluster", "register", "other", "--grant", "read-only")
	if out, _, err := v.run(t.Context(), "cluster", "show", "other"); err == nil {
		t.Errorf("a registration with an unknown grant reached the vault:\n%s", out)
	}
}

// TestAgentGrantRestore: grant-restore --dry-run prints the restore grant (without escalate and bind
// when asked), in the namespace asked for; both commands need a cluster, and say how to give one.
func TestAgentGrantRestore(t *testing.T) {
	out, err := runAgentCLI(t, "agent", "grant-restore", "--dry-run")
	if err != nil || !strings.Contains(out, "name: cairn-agent-restore") || !strings.Contains(out, "escalate") ||
		!strings.Contains(out, "namespace: cairn-system") {
		t.Errorf("grant-restore --dry-run (%v):\n%s", err, out)
	}
	out, err = runAgentCLI(t, "agent", "grant-restore", "--dry-run", "-n", "backups", "--no-rbac-escalation")
	if err != nil || strings.Contains(out, "escalate") || !strings.Contains(out, "namespace: backups") {
		t.Errorf("grant-restore --dry-run -n backups --no-rbac-escalation (%v):\n%s", err, out)
	}
	for _, args := range [][]string{{"grant-restore"}, {"revoke-restore"}} {
		_, err := runAgentCLI(t, append(append([]string{"agent"}, args...), "--kubeconfig", "/nonexistent/kubeconfig")...)
		if err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
			t.Errorf("%s without a cluster: %v", args[0], err)
		}
	}
	if _, err := runAgentCLI(t, "agent", "grant-restore", "-n", "Bad_NS", "--kubeconfig", "/nonexistent/kubeconfig"); err == nil ||
		!strings.Contains(err.Error(), "--namespace") {
		t.Errorf("a bad namespace: %v", err)
	}
	if _, err := runAgentCLI(t, "agent", "revoke-restore", "extra"); err == nil {
		t.Error("revoke-restore took an argument")
	}
}
