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
	return auditListCommand(env, (*client.Client).ListAudit, &cobra.Command{Use: "list", Short: "List audit entries, newest first", Args: cobra.NoArgs})
}

// auditListCommand completes cmd into a listing of the audit entries list gives, a page at a time.
func auditListCommand(env Env, list func(*client.Client, context.Context, client.AuditFilter) (vaultv1.List[vaultv1.AuditEntry], error),
	cmd *cobra.Command) *cobra.Command {
	var limit int
	var more bool
	cmd = vaultVerb[[]vaultv1.AuditEntry]{
		check: func([]string) error { return checkLimit(limit) },
		call: func(ctx context.Context, c *client.Client, _ []string) (entries []vaultv1.AuditEntry, err error) {
			entries, more, err = collect(limit, func(limit int, cursor string) (vaultv1.List[vaultv1.AuditEntry], error) {
				return list(c, ctx, client.AuditFilter{Limit: limit, Cursor: cursor})
			})
			return entries, err
		},
		text: func(out io.Writer, entries []vaultv1.AuditEntry) error {
			t := newTable(out)
			fmt.Fprintln(t, "TIME\tPRINCIPAL\tROLE\tOPERATION\tOBJECT\tSTATUS")
			for _, e := range entries {
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%d\n", formatTime(&e.Time), e.Principal, e.Role, e.Operation, orDash(e.Object), e.Status)
			}
			if err := t.Flush(); err != nil {
				return err
			}
			noteMore(env.Stderr, more, len(entries), "audit entries")
			return nil
		},
	}.build(env, cmd)
	cmd.Flags().IntVar(&limit, "limit", 100, "show at most this many entries")
	return cmd
}
