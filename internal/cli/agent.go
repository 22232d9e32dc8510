package cli

import (
	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/kube"
)

func newAgentCommand(target *kube.Target, env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "agent", Short: "Run, install or remove the agent (the backup extension)"}
	cmd.AddCommand(newAgentRunCommand(target, env), newAgentInstallCommand(target, env), newAgentUninstallCommand(target, env),
		newAgentGrantRestoreCommand(target), newAgentRevokeRestoreCommand(target))
	return cmd
}
