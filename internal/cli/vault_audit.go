package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/vault/client"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

func newAuditCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The vault's audit log: every call that changed something, and every refused call"}
	cmd.AddCommand(newAuditListCommand(env))
	return cmd
}

func newAuditListCommand(env Env) *cobra.Command {
	var output string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit entries, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := checkLimit(limit); err != nil {
				return err
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			list, more, err := collect(limit, func(limit int, cursor string) (wire.List[wire.AuditEntry], error) {
				return c.ListAudit(cmd.Context(), client.AuditFilter{Limit: limit, Cursor: cursor})
			})
			if err != nil {
				return err
			}
			if ok, err := printStructured(cmd.OutOrStdout(), output, list); ok {
				return err
			}
			t := newTable(cmd.OutOrStdout())
			fmt.Fprintln(t, "TIME\tPRINCIPAL\tROLE\tOPERATION\tOBJECT\tSTATUS")
			for _, e := range list {
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%d\n", formatTime(&e.Time), e.Principal, e.Role, e.Operation, orDash(e.Object), e.Status)
			}
			if err := t.Flush(); err != nil {
				return err
			}
			noteMore(env.Stderr, more, len(list), "audit entries")
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "show at most this many entries")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}
