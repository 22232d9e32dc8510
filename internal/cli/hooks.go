package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/crds"
	"github.com/cairnbackup/cairn/internal/kube"
)

func newHooksCommand(target *kube.Target, env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "hooks", Short: "BackupHook and RestoreHook custom resources"}
	cmd.AddCommand(&cobra.Command{
		Use:   "install-crds",
		Short: "Install (or update) the BackupHook and RestoreHook CRDs the binary carries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := target.RESTConfig()
			if err != nil {
				return err
			}
			names, err := crds.Install(cmd.Context(), cfg)
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "installed CRD %s\n", n)
			}
			return err
		},
	})
	return cmd
}

func printHookExecutions(out io.Writer, execs []archive.HookExecution) {
	if len(execs) == 0 {
		return
	}
	t := newTable(out)
	fmt.Fprintln(t, "\nHOOK\tPHASE\tPOD\tCONTAINER\tCOMMAND\tEXIT\tDURATION\tOUTCOME\tERROR")
	for _, e := range execs {
		fmt.Fprintf(t, "%s\t%s\t%s/%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.Hook, e.Phase, e.Namespace, e.Pod, e.Container,
			summarizeCommand(e.Command), e.ExitCode, seconds(e.DurationSeconds), e.Outcome, e.Error)
	}
	_ = t.Flush()
}

func summarizeCommand(cmd []string) string {
	s := strings.Join(cmd, " ")
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}
