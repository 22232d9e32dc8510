package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newInstanceValidateCommand(env Env) *cobra.Command {
	return instanceJobCommand(env, &cobra.Command{
		Use:   "validate NAME",
		Short: "Check what a backup of the instance will need (secret, storage, namespaces, snapshot classes, hooks, permissions); --wait shows the checks",
		Long: `Queue a validation of the instance: its cluster's agent checks, without backing up, that the
repository passphrase secret is there, the storage opens (or takes a test write when it holds no
repository yet), the namespaces exist, every claim in scope has a VolumeSnapshotClass, the named
BackupHooks exist and are valid, and it has the permissions a backup needs. Creating an instance
validates it too; cairn instance show prints the newest result.`,
		Example: `  cairn instance validate shop-nightly --wait`,
	}, func(ctx context.Context, c *client.Client, name string) (vaultv1.Job, error) {
		return c.ValidateInstance(ctx, name)
	})
}

// printValidation writes an instance's newest validation: its state and, once it ran, its checks.
func printValidation(out io.Writer, v *vaultv1.Validation) {
	if v == nil {
		fmt.Fprintln(out, "  validation:      none yet (cairn instance validate)")
		return
	}
	switch v.State {
	case vaultv1.JobQueued, vaultv1.JobRunning:
		fmt.Fprintf(out, "  validation:      %s (job %d)\n", v.State, v.JobID)
		return
	case vaultv1.JobSucceeded:
		fmt.Fprintf(out, "  validation:      passed %s (job %d)\n", formatTime(v.At), v.JobID)
	default:
		fmt.Fprintf(out, "  validation:      %s %s (job %d): %s\n", v.State, formatTime(v.At), v.JobID, v.Error)
	}
	printVaultChecks(out, "    ", v.Checks)
}
