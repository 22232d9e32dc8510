package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newInstanceTestRestoreCommand(env Env) *cobra.Command {
	var req vaultv1.TestRestoreRequest
	cmd := instanceJobCommand(env, &cobra.Command{
		Use:   "test-restore NAME",
		Short: "Prove a backup restores: restore it into scratch namespaces, check it and delete them; --wait shows the checks",
		Long: `Queue a test restore of the instance: its newest good recovery point (or --recovery-point) is
restored into scratch namespaces of a cluster (--cluster, else the policy's test restore cluster,
else the instance's own), with no cluster-scoped object; every claim must bind and every pod become
Ready, the policy's check commands run in the restored pods, and the scratch namespaces are
deleted. A policy with testRestore runs these on a schedule; cairn instance show prints the last.`,
		Example: `  cairn instance test-restore shop-nightly --wait
  cairn instance test-restore shop-nightly --cluster staging --recovery-point shop-nightly-20261201013000`,
	}, func(ctx context.Context, c *client.Client, name string) (vaultv1.Job, error) {
		return c.TestRestoreInstance(ctx, name, req)
	})
	cmd.Flags().StringVar(&req.RecoveryPoint, "recovery-point", "", "the recovery point to test (default: the instance's newest good one)")
	cmd.Flags().StringVar(&req.Cluster, "cluster", "", "the cluster to restore into (default: the policy's test restore cluster, else the instance's)")
	return cmd
}

// printTestRestore writes an instance's newest test restore: "passed 2d ago in 1m24s", its
// recovery point and cluster and, once it ran, its checks.
func printTestRestore(out io.Writer, t *vaultv1.TestRestoreStatus, now time.Time) {
	if t == nil {
		fmt.Fprintln(out, "  last test restore: none yet (cairn instance test-restore)")
		return
	}
	took := (time.Duration(t.TookSeconds) * time.Second).String()
	switch t.State {
	case vaultv1.JobQueued, vaultv1.JobRunning:
		fmt.Fprintf(out, "  last test restore: %s (job %d)\n", t.State, t.JobID)
		return
	case vaultv1.JobSucceeded:
		fmt.Fprintf(out, "  last test restore: passed %s ago in %s (job %d, %s into cluster %s)\n", ago(t.At, now), took, t.JobID, t.RecoveryPoint, t.Cluster)
	default:
		fmt.Fprintf(out, "  last test restore: %s %s ago (job %d, %s into cluster %s): %s\n", t.State, ago(t.At, now), t.JobID, t.RecoveryPoint, t.Cluster, t.Error)
	}
	printVaultChecks(out, "    ", t.Checks)
}

// ago is how long before now t was ("-" when unknown).
func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return humanize.Age(now.Sub(*t))
}
