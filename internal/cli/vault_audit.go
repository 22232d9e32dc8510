package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newAuditCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The vault's audit log: every call that changed something, and every refused call"}
	cmd.AddCommand(newAuditListCommand(env))
	return cmd
}

func newAuditListCommand(env Env) *cobra.Command {
	var limit int
	var more bool
	cmd := vaultVerb[[]vaultv1.AuditEntry]{
		check: func([]string) error { return checkLimit(limit) },
		call: func(ctx context.Context, c *client.Client, _ []string) (list []vaultv1.AuditEntry, err error) {
			list, more, err = collect(limit, func(limit int, cursor string) (vaultv1.List[vaultv1.AuditEntry], error) {
				return c.ListAudit(ctx, client.AuditFilter{Limit: limit, Cursor: cursor})
			})
			return list, err
		},
		text: func(out io.Writer, list []vaultv1.AuditEntry) error {
			t := newTable(out)
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
	}.build(env, &cobra.Command{Use: "list", Short: "List audit entries, newest first", Args: cobra.NoArgs})
	cmd.Flags().IntVar(&limit, "limit", 100, "show at most this many entries")
	return cmd
}
