// Command cairn is the single cairn binary: CLI, agent and vault.
package main

import (
	"fmt"
	"os"

	"github.com/cairnbackup/cairn/internal/cli"
)

func main() {
	if err := cli.NewRootCommand(cli.ProcessEnv()).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
