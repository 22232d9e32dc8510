package cli

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/buildinfo"
)

func TestVersionText(t *testing.T) {
	var out bytes.Buffer
	root := NewRootCommand(Env{Stdout: &out})
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cairn ", "commit:", "go version: " + runtime.Version(), "build date:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestVersionJSON(t *testing.T) {
	var out bytes.Buffer
	root := NewRootCommand(Env{Stdout: &out})
	root.SetArgs([]string{"version", "-o", "json"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var info buildinfo.Info
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, out.String())
	}
	if info.GoVersion != runtime.Version() || info.Version == "" {
		t.Errorf("unexpected version info %+v", info)
	}
}

func TestVersionRejectsUnknownFormat(t *testing.T) {
	root := NewRootCommand(Env{Stdout: &bytes.Buffer{}})
	root.SetArgs([]string{"version", "-o", "yaml"})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), `unknown output format "yaml"`) {
		t.Fatalf("want an error naming the bad format, got %v", err)
	}
}

func TestClusterInfoNamesTheMissingKubeconfig(t *testing.T) {
	root := NewRootCommand(Env{Stdout: &bytes.Buffer{}})
	root.SetArgs([]string{"cluster", "info", "--kubeconfig", "/nonexistent/kubeconfig"})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Fatalf("want an error saying how to point cairn at a cluster, got %v", err)
	}
}

func TestParseDays(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "1d": 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseDays(in); err != nil || got != want {
			t.Errorf("parseDays(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0d", "-1d", "xd", "soon", "-5h"} {
		if _, err := parseDays(bad); err == nil {
			t.Errorf("parseDays(%q) accepted", bad)
		}
	}
}
