package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/vault/client"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

func newRecoveryPointCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "recovery-point",
		Aliases: []string{"rp"},
		Short:   "The recovery points the vault knows: the backups of its instances",
	}
	cmd.AddCommand(newRecoveryPointListCommand(env), newRecoveryPointShowCommand(env))
	return cmd
}

func newRecoveryPointListCommand(env Env) *cobra.Command {
	var f client.RecoveryPointFilter
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List recovery points, newest first",
		Example: `  cairn recovery-point list --instance shop-nightly --limit 10`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := checkLimit(f.Limit); err != nil {
				return err
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			list, more, err := collect(f.Limit, func(limit int, cursor string) (wire.List[wire.RecoveryPoint], error) {
				g := f
				g.Limit, g.Cursor = limit, cursor
				return c.ListRecoveryPoints(cmd.Context(), g)
			})
			if err != nil {
				return err
			}
			if ok, err := printStructured(cmd.OutOrStdout(), output, list); ok {
				return err
			}
			if err := printRecoveryPoints(cmd.OutOrStdout(), list); err != nil {
				return err
			}
			noteMore(env.Stderr, more, len(list), "recovery points")
			return nil
		},
	}
	cmd.Flags().StringVar(&f.Instance, "instance", "", "only the recovery points of this instance")
	cmd.Flags().StringVar(&f.Cluster, "cluster", "", "only the recovery points of this cluster")
	cmd.Flags().IntVar(&f.Limit, "limit", 100, "show at most this many recovery points")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

func printRecoveryPoints(out io.Writer, list []wire.RecoveryPoint) error {
	t := newTable(out)
	fmt.Fprintln(t, "NAME\tINSTANCE\tCLUSTER\tTIME\tPHASE\tITEMS\tSTORED\tVOLUMES\tEXPIRES")
	for _, rp := range list {
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", rp.Name, rp.Instance, rp.Cluster, formatTime(&rp.Time), rp.Phase,
			rp.Items, humanBytes(rp.StoredBytes), describeVolumes(rp), describeExpiry(rp))
	}
	return t.Flush()
}

func describeVolumes(rp wire.RecoveryPoint) string {
	if rp.VolumesFailed > 0 {
		return fmt.Sprintf("%d (%d failed)", rp.Volumes, rp.VolumesFailed)
	}
	return fmt.Sprint(rp.Volumes)
}

func describeExpiry(rp wire.RecoveryPoint) string {
	switch {
	case rp.ExpiresAt != nil:
		return formatTime(rp.ExpiresAt)
	case rp.OnDemand:
		return "kept until deleted"
	}
	return "by retention"
}

func newRecoveryPointShowCommand(env Env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a recovery point",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			rp, err := c.GetRecoveryPoint(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if ok, err := printStructured(cmd.OutOrStdout(), output, rp); ok {
				return err
			}
			printRecoveryPoint(cmd.OutOrStdout(), rp)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

func printRecoveryPoint(out io.Writer, rp wire.RecoveryPoint) {
	kind := "scheduled"
	if rp.OnDemand {
		kind = "on demand"
	}
	fmt.Fprintf(out, "recovery point %q: %s\n", rp.Name, rp.Phase)
	fmt.Fprintf(out, "  instance:    %s (cluster %s)\n  time:        %s (%s, job %d)\n", rp.Instance, rp.Cluster, formatTime(&rp.Time), kind, rp.Job)
	fmt.Fprintf(out, "  items:       %d in %d namespaces", rp.Items, len(rp.Namespaces))
	if len(rp.Namespaces) > 0 {
		fmt.Fprintf(out, " (%s)", strings.Join(rp.Namespaces, ", "))
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "  size:        %s raw, %s stored\n", humanBytes(rp.RawBytes), humanBytes(rp.StoredBytes))
	fmt.Fprintf(out, "  volumes:     %s snapshotted, %s of snapshots\n", describeVolumes(rp), humanBytes(rp.SnapshotBytes))
	fmt.Fprintf(out, "  expires:     %s\n", describeExpiry(rp))
	fmt.Fprintf(out, "restore it: cairn restore create --from %s [--target-cluster CLUSTER] --wait\n", rp.Name)
}
