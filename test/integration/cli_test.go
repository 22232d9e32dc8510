//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/internal/kube"
)

// TestClusterInfoAgainstRealAPIServer runs `cairn cluster info` with an explicit kubeconfig and
// context, as a user pointing cairn at their own cluster would.
func TestClusterInfoAgainstRealAPIServer(t *testing.T) {
	var out bytes.Buffer
	root := cli.NewRootCommand(cli.Env{Stdout: &out})
	root.SetArgs([]string{"cluster", "info", "-o", "json", "--kubeconfig", source.State.Kubeconfig, "--context", "cairn-" + source.State.Name})
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	var s kube.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if s.Server != source.State.Server || s.Version != "v1.35.4" || s.Namespaces < 4 || s.ResourceTypes < 40 {
		t.Fatalf("unexpected summary %+v", s)
	}

	root = cli.NewRootCommand(cli.Env{Stdout: &bytes.Buffer{}})
	root.SetArgs([]string{"cluster", "info", "--kubeconfig", source.State.Kubeconfig, "--context", "no-such-context"})
	if err := root.ExecuteContext(t.Context()); err == nil {
		t.Fatal("an unknown context was accepted")
	}
}
