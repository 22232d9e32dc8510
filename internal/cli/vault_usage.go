package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/vault/wire"
)

func newUsageCommand(env Env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "What each instance consumes (protected namespaces, recovery points, storage, snapshots) and its monthly cost",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			u, err := c.Usage(cmd.Context())
			if err != nil {
				return err
			}
			if u.Instances == nil {
				u.Instances = []wire.InstanceUsage{}
			}
			if ok, err := printStructured(cmd.OutOrStdout(), output, u); ok {
				return err
			}
			out := cmd.OutOrStdout()
			p := u.Prices
			t := newTable(out)
			fmt.Fprintf(t, "INSTANCE\tCLUSTER\tNAMESPACES\tRECOVERY POINTS\tSTORED\tSNAPSHOTS\tMONTHLY COST (%s)\n", p.Currency)
			for _, i := range u.Instances {
				fmt.Fprintf(t, "%s\t%s\t%d\t%d\t%s\t%s\t%.2f\n", i.Instance, i.Cluster, i.ProtectedNamespaces, i.RecoveryPoints,
					humanBytes(i.StoredBytes), humanBytes(i.SnapshotBytes), i.MonthlyCost)
			}
			tot := u.Total
			fmt.Fprintf(t, "TOTAL\t\t%d\t%d\t%s\t%s\t%.2f\n", tot.ProtectedNamespaces, tot.RecoveryPoints,
				humanBytes(tot.StoredBytes), humanBytes(tot.SnapshotBytes), tot.MonthlyCost)
			if err := t.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "\nprices (%s per month): %.2f per protected namespace, %.4f per GiB stored, %.4f per GiB of snapshots\n",
				p.Currency, p.NamespaceMonth, p.StorageGiBMonth, p.SnapshotGiBMonth)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}
