//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/internal/localcluster"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// cairnBinary builds the cairn binary of this checkout once per test run, static as the agent
// image needs it, into the cache (each run overwrites it).
func cairnBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		bins, err := localcluster.DefaultBinaries()
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(bins.State, "e2e", "cairn")
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", binPath, "./cmd/cairn")
		build.Dir = bins.Repo
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = err
			t.Logf("go build: %s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build cairn: %v", buildErr)
	}
	return binPath
}

var (
	imageMu       sync.Mutex
	imageImported = map[*localcluster.Cluster]bool{}
)

// agentImageIn builds the agent image of this checkout and imports it into cluster c, once per
// cluster and run; it returns the image's name.
func agentImageIn(t *testing.T, c *localcluster.Cluster) string {
	t.Helper()
	imageMu.Lock()
	defer imageMu.Unlock()
	if imageImported[c] {
		return localcluster.AgentImage
	}
	binary := cairnBinary(t)
	tar := filepath.Join(filepath.Dir(binary), "agent-image.tar")
	if err := localcluster.BuildAgentImage(t.Context(), binary, localcluster.AgentImage, tar); err != nil {
		t.Fatal(err)
	}
	if err := c.ImportImage(t.Context(), tar); err != nil {
		t.Fatal(err)
	}
	imageImported[c] = true
	return localcluster.AgentImage
}
