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
	if args := os.Getenv(replicaArgsEnv); args != "" {
		os.Exit(runReplica(args)) // a vault replica process of TestReplicasBehindABalancer
	}
	os.Exit(testenv.Main(m.Run, "e2e", testenv.WithCSI, &cluster))
}
