package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runAgentCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRootCommand(Env{Stdout: &out, Stderr: &errOut})
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAgentInstallDryRun: the manifests come out, no Secret value does, and no cluster is needed.
func TestAgentInstallDryRun(t *testing.T) {
	dir := t.TempDir()
	token := writeFile(t, dir, "agent.token", "cairn_agent_supersecret\n")
	pass := writeFile(t, dir, "prod.pass", "correct horse battery\n")
	envFile := writeFile(t, dir, "azure.env", "# storage\n\nAZURE_STORAGE_CONNECTION_STRING=AccountName=a;AccountKey=k==\n")
	out, err := runAgentCLI(t, "agent", "install", "--dry-run", "--kubeconfig", "/nonexistent/kubeconfig",
		"--vault", "https://vault.example:8443", "--token-file", token, "--image", "registry.example/cairn:v1",
		"--secret", "prod-repo="+pass, "--storage-env-file", envFile, "--host-network", "--host-path", "/srv/backups",
		"--namespace", "backups", "--no-rbac-escalation")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"supersecret", "correct horse", "AccountKey=k"} {
		if strings.Contains(out, secret) {
			t.Errorf("dry-run output holds %q", secret)
		}
	}
	for _, want := range []string{"kind: CustomResourceDefinition", "kind: ClusterRole", "namespace: backups", "prod-repo: <redacted>",
		"AZURE_STORAGE_CONNECTION_STRING: <redacted>", "hostNetwork: true", "path: /srv/backups", "- https://vault.example:8443"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q", want)
		}
	}
	if strings.Contains(out, "escalate") {
		t.Error("--no-rbac-escalation left escalate in the ClusterRole")
	}
	// The backup-only grant: a Role in the agent's namespace, no cluster-wide write, no escalation.
	out, err = runAgentCLI(t, "agent", "install", "--dry-run", "--vault", "https://v", "--image", "i", "--grant", "backup-only", "-n", "backups")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "kind: Role\n") || !strings.Contains(out, "kind: RoleBinding\n") || strings.Contains(out, "escalate") ||
		strings.Contains(out, "  - update\n  - patch\n  - delete\n") {
		t.Errorf("--grant backup-only dry run:\n%s", out)
	}
	// Without a token file, a dry run still shows the manifests.
	if _, err := runAgentCLI(t, "agent", "install", "--dry-run", "--vault", "https://v", "--image", "i"); err != nil {
		t.Errorf("dry run without --token-file: %v", err)
	}
}

func TestAgentInstallFlagErrors(t *testing.T) {
	dir := t.TempDir()
	token := writeFile(t, dir, "agent.token", "tok")
	empty := writeFile(t, dir, "empty", "\n")
	badEnv := writeFile(t, dir, "bad.env", "AWS_ACCESS_KEY_ID\n")
	dupEnv := writeFile(t, dir, "dup.env", "A=1\nA=2\n")
	badName := writeFile(t, dir, "badname.env", "1A=1\n")
	base := []string{"agent", "install", "--kubeconfig", "/nonexistent/kubeconfig", "--vault", "https://v", "--image", "i"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no token", base, "no agent token: give --token-file"},
		{"empty token", append(base, "--token-file", empty), "is empty"},
		{"missing token file", append(base, "--token-file", filepath.Join(dir, "nope")), "read --token-file"},
		{"no vault", []string{"agent", "install", "--token-file", token, "--image", "i"}, "no vault URL"},
		{"no image", []string{"agent", "install", "--token-file", token, "--vault", "https://v"}, "--image"},
		{"secret without file", append(base, "--token-file", token, "--secret", "prod"), "NAME=FILE"},
		{"secret missing file", append(base, "--token-file", token, "--secret", "prod="+filepath.Join(dir, "nope")), "--secret prod"},
		{"secret empty file", append(base, "--token-file", token, "--secret", "prod="+empty), "is empty"},
		{"secret twice", append(base, "--token-file", token, "--secret", "p="+token, "--secret", "p="+token), "twice"},
		{"bad secret name", append(base, "--token-file", token, "--secret", "a/b="+token), `secret name "a/b"`},
		{"env line", append(base, "--token-file", token, "--storage-env-file", badEnv), "line 1: give KEY=VALUE"},
		{"env twice", append(base, "--token-file", token, "--storage-env-file", dupEnv), "A is set twice"},
		{"env name", append(base, "--token-file", token, "--storage-env-file", badName), "not an environment variable name"},
		{"env empty", append(base, "--token-file", token, "--storage-env-file", empty), "holds no KEY=VALUE"},
		{"pull policy", append(base, "--token-file", token, "--image-pull-policy", "Sometimes"), "Always, IfNotPresent or Never"},
		{"host path", append(base, "--token-file", token, "--host-path", "data"), "absolute"},
		{"uid", append(base, "--token-file", token, "--run-as-user", "-5"), "uid"},
		{"api server", append(base, "--token-file", token, "--api-server", "localhost"), "HOST:PORT"},
		{"kubeconfig", append(base, "--token-file", token), "--kubeconfig"},
		{"token as argument", append(base, "--token", "x"), "unknown flag: --token"},
		{"grant", append(base, "--token-file", token, "--grant", "read-only"), `--grant: grant "read-only": use full (`},
		{"grant in a dry run", append(base, "--dry-run", "--grant", "Full"), `--grant: grant "Full": use full (`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runAgentCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestAgentUninstallNeedsACluster(t *testing.T) {
	_, err := runAgentCLI(t, "agent", "uninstall", "--kubeconfig", "/nonexistent/kubeconfig")
	if err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Fatalf("want an error saying how to point cairn at a cluster, got %v", err)
	}
	_, err = runAgentCLI(t, "agent", "uninstall", "extra")
	if err == nil {
		t.Fatal("uninstall took an argument")
	}
}
