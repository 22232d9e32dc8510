package localcluster

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readArchive returns the files of a docker-archive tarball by name.
func readArchive(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = b
	}
}

func TestBuildAgentImage(t *testing.T) {
	if _, err := os.Stat(busyboxBinary); err != nil {
		t.Skipf("needs a static binary to pack: %v", err)
	}
	out := filepath.Join(t.TempDir(), "img", "agent.tar")
	// Any static linux/amd64 binary will do: Debian's static busybox stands in for cairn.
	if err := BuildAgentImage(t.Context(), busyboxBinary, "local/agent:test", out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	archive := readArchive(t, data)
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(archive["manifest.json"], &manifest); err != nil || len(manifest) != 1 || len(manifest[0].Layers) != 1 {
		t.Fatalf("manifest: %v %s", err, archive["manifest.json"])
	}
	if manifest[0].RepoTags[0] != "local/agent:test" {
		t.Errorf("tag %v", manifest[0].RepoTags)
	}
	var config struct {
		Config struct {
			User       string
			Entrypoint []string
		} `json:"config"`
	}
	if err := json.Unmarshal(archive[manifest[0].Config], &config); err != nil {
		t.Fatal(err)
	}
	if config.Config.User != "65532:65532" || strings.Join(config.Config.Entrypoint, " ") != "/cairn" {
		t.Errorf("config: %+v", config.Config)
	}
	layer := tar.NewReader(bytes.NewReader(archive[manifest[0].Layers[0]]))
	entries := map[string]*tar.Header{}
	var passwd string
	for {
		h, err := layer.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := entries[h.Name]; dup {
			t.Errorf("%s twice in the layer", h.Name)
		}
		entries[h.Name] = h
		if h.Name == "etc/passwd" {
			b, _ := io.ReadAll(layer)
			passwd = string(b)
		}
	}
	if h := entries["cairn"]; h == nil || h.Mode != 0o755 {
		t.Errorf("no executable /cairn: %+v", h)
	}
	if h := entries["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("no world-writable /tmp: %+v", h)
	}
	if !strings.Contains(passwd, "cairn:x:65532:65532:") {
		t.Errorf("passwd lacks the non-root user:\n%s", passwd)
	}
	if _, err := os.Stat(caBundle); err == nil {
		for _, d := range []string{"etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt"} {
			if entries[d] == nil {
				t.Errorf("layer lacks %s", d)
			}
		}
	}
	// The same binary gives the same image.
	again := filepath.Join(t.TempDir(), "again.tar")
	if err := BuildAgentImage(t.Context(), busyboxBinary, "local/agent:test", again); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, data) {
		t.Error("the image is not reproducible")
	}
}

func TestBuildAgentImageRefusesADynamicBinary(t *testing.T) {
	exe, err := os.Executable() // the test binary links the C library only with cgo: find a dynamic one
	if err != nil {
		t.Fatal(err)
	}
	dynamic := ""
	for _, p := range []string{"/bin/ls", "/usr/bin/env", exe} {
		if checkStatic(p) != nil {
			dynamic = p
			break
		}
	}
	if dynamic == "" {
		t.Skip("no dynamically linked binary on this machine")
	}
	err = BuildAgentImage(t.Context(), dynamic, "local/agent:test", filepath.Join(t.TempDir(), "x.tar"))
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("want a refusal naming CGO_ENABLED=0, got %v", err)
	}
	if err := BuildAgentImage(t.Context(), "/etc/hostname", "local/agent:test", filepath.Join(t.TempDir(), "x.tar")); err == nil {
		t.Fatal("a non-binary was packed")
	}
}
