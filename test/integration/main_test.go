//go:build integration

package integration

import (
	"os"
	"testing"

	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// source is the control plane every test of this package shares.
var source *localcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m.Run, "it-source", testenv.ControlPlane, &source))
}
