package cli

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/agent/install"
)

// TestAgentRunMetricsAddress: a malformed --metrics-address is refused before the agent starts,
// and the default is the port the installed agent's pod declares and passes.
func TestAgentRunMetricsAddress(t *testing.T) {
	for _, addr := range []string{"9464", "localhost", "http://0.0.0.0:9464"} {
		_, err := runCairn("agent", "run", "--vault", "http://127.0.0.1:1", "--metrics-address", addr)
		if err == nil || !strings.Contains(err.Error(), "--metrics-address") {
			t.Errorf("--metrics-address %q: %v", addr, err)
		}
	}

	root := NewRootCommand(Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	run, _, err := root.Find([]string{"agent", "run"})
	if err != nil {
		t.Fatal(err)
	}
	def := run.Flags().Lookup("metrics-address").DefValue
	if def != fmt.Sprintf(":%d", install.MetricsPort) {
		t.Errorf("default --metrics-address %q, want :%d", def, install.MetricsPort)
	}
	objs, err := install.Build(install.Options{VaultURL: "https://vault.example:8443", Token: []byte("t"), Image: "registry.example/cairn:v1"})
	if err != nil {
		t.Fatal(err)
	}
	c := objs.Deployment.Spec.Template.Spec.Containers[0]
	if i := slices.Index(c.Command, "--metrics-address"); i < 0 || i+1 >= len(c.Command) || c.Command[i+1] != def {
		t.Errorf("the installed agent's command %q does not serve metrics on %s", c.Command, def)
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != install.MetricsPort || c.Ports[0].Name != install.MetricsPortName {
		t.Errorf("the installed agent's ports: %+v", c.Ports)
	}
}
