//go:build e2e

package e2e

import (
	"os"
	"testing"

	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// cluster is the full single-node cluster every test of this package shares. TestMain stops it and
// fails the run if a process, mount, network device or hosts line is left behind.
var cluster *localcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m.Run, "e2e", testenv.WithCSI, &cluster))
}
