package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
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

// TestRegisterSaysWhichGrant: cluster register says which trust grant it made; a backup-only one
// names the restore grant; an unknown grant is refused before the vault is asked.
func TestRegisterSaysWhichGrant(t *testing.T) {
	v := startTestVault(t)
	if out := v.ok(t, "cluster", "register", "prod"); !regexpLine(out, `grant: full: the agent backs up and restores`) {
		t.Errorf("full:\n%s", out)
	}
	out := v.ok(t, "cluster", "register", "archive", "--grant", "backup-only")
	if !regexpLine(out, `grant: backup-only: the agent reads what it backs up`) || !strings.Contains(out, "cairn agent grant-restore") {
		t.Errorf("backup-only:\n%s", out)
	}
	v.fails(t, `--grant: grant "read-only": use full`, "cluster", "register", "other", "--grant", "read-only")
	if out := v.ok(t, "agent", "grant-restore", "--dry-run"); !strings.Contains(out, "name: cairn-agent-restore") || !strings.Contains(out, "escalate") {
		t.Errorf("grant-restore --dry-run:\n%s", out)
	}
}
