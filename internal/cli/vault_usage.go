package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newUsageCommand(env Env) *cobra.Command {
	return vaultVerb[vaultv1.Usage]{
		call: func(ctx context.Context, c *client.Client, _ []string) (vaultv1.Usage, error) {
			u, err := c.Usage(ctx)
			if u.Instances == nil {
				u.Instances = []vaultv1.InstanceUsage{}
			}
			return u, err
		},
		text: printUsage,
	}.build(env, &cobra.Command{
		Use:   "usage",
		Short: "What each instance consumes (protected namespaces, recovery points, storage, snapshots) and its monthly cost",
		Args:  cobra.NoArgs,
	})
}

func printUsage(out io.Writer, u vaultv1.Usage) error {
	p := u.Prices
	t := newTable(out)
	fmt.Fprintf(t, "INSTANCE\tCLUSTER\tNAMESPACES\tRECOVERY POINTS\tSTORED\tSNAPSHOTS\tCOPIES\tMONTHLY COST (%s)\n", p.Currency)
	for _, i := range u.Instances {
		fmt.Fprintf(t, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%.2f\n", i.Instance, i.Cluster, i.ProtectedNamespaces, i.RecoveryPoints,
			humanize.Bytes(i.StoredBytes), humanize.Bytes(i.SnapshotBytes), humanize.Bytes(i.CopyBytes), i.MonthlyCost)
	}
	tot := u.Total
	fmt.Fprintf(t, "TOTAL\t\t%d\t%d\t%s\t%s\t%s\t%.2f\n", tot.ProtectedNamespaces, tot.RecoveryPoints,
		humanize.Bytes(tot.StoredBytes), humanize.Bytes(tot.SnapshotBytes), humanize.Bytes(tot.CopyBytes), tot.MonthlyCost)
	if err := t.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "\nprices (%s per month): %.2f per protected namespace, %.4f per GiB stored, %.4f per GiB of snapshots, %.4f per GiB of copies\n",
		p.Currency, p.NamespaceMonth, p.StorageGiBMonth, p.SnapshotGiBMonth, p.CopyGiBMonth)
	return err
}
