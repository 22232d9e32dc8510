//go:build integration

package integration

import (
	"fmt"
	"os"
	"testing"

	"github.com/cairnbackup/cairn/internal/cli"

	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// source is the control plane every test of this package shares.
var source *localcluster.Cluster

func TestMain(m *testing.M) {
	if os.Getenv(runAsCairn) == "1" { // re-executed as the cairn binary by a test that kills it
		os.Exit(cairnMain())
	}
	os.Exit(testenv.Main(m.Run, "it-source", testenv.ControlPlane, &source))
}

// runAsCairn makes the test binary run as cairn itself, so that a test can kill a real process.
const runAsCairn = "CAIRN_IT_RUN_AS_CAIRN"

func cairnMain() int {
	root := cli.NewRootCommand(cli.ProcessEnv())
	root.SetArgs(os.Args[1:])
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}
