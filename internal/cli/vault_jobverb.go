package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// instanceJobCommand completes cmd (its Use, help and flags) as a verb that queues one job for
// the instance named by its argument: it prints the queued job, or with --wait follows it to its
// end, prints it and fails unless it succeeded.
func instanceJobCommand(env Env, cmd *cobra.Command, queue func(ctx context.Context, c *client.Client, name string) (vaultv1.Job, error)) *cobra.Command {
	var output string
	var wait bool
	var interval time.Duration
	cmd.Args = cobra.ExactArgs(1)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(output); err != nil {
			return err
		}
		if err := checkInterval(interval); err != nil {
			return err
		}
		c, err := vaultClient(env)
		if err != nil {
			return err
		}
		j, err := queue(cmd.Context(), c, args[0])
		if err != nil {
			return err
		}
		if wait {
			return waitAndReport(cmd, c, j, output, interval, env)
		}
		if ok, err := printStructured(cmd.OutOrStdout(), output, j); ok {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "queued %s job %d of instance %q in cluster %s; follow it: cairn job logs %d --follow (or --wait)\n",
			j.Kind, j.ID, args[0], j.Cluster, j.ID)
		return nil
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the job to its end and print its checks; exit non-zero unless every one passed")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml (the job)")
	registerPollInterval(cmd, &interval)
	return cmd
}
