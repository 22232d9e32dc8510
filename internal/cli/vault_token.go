package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

func newTokenCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Make, list and revoke vault tokens (contributors only)"}
	cmd.AddCommand(newTokenCreateCommand(env), newTokenListCommand(env), newTokenRevokeCommand(env))
	return cmd
}

const roleHelp = "reader (sees everything), operator (runs backups and restores) or contributor (everything)"

func newTokenCreateCommand(env Env) *cobra.Command {
	var role, expiresIn string
	cmd := &cobra.Command{
		Use:   "create NAME --role reader|operator|contributor [--expires-in 30d]",
		Short: "Make a token; it is printed once",
		Example: `  cairn token create ci-pipeline --role operator --expires-in 30d > ci.token
  cairn token create alice --role reader`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := access.ValidTokenName(args[0]); err != nil {
				return err
			}
			if err := access.ValidUserRole(role); err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			t, err := c.CreateToken(cmd.Context(), args[0], role, expiresIn)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.Token)
			fmt.Fprintf(env.Stderr, "token %q (%s) works until %s; it is shown only now\n", t.Name, t.Role, t.ExpiresAt.Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", access.RoleReader, roleHelp)
	cmd.Flags().StringVar(&expiresIn, "expires-in", "", "how long the token works, 1m to 366d (default: the vault's token lifetime, 90d unless set)")
	return cmd
}

func newTokenListCommand(env Env) *cobra.Command {
	return vaultVerb[[]vaultv1.Token]{
		call: func(ctx context.Context, c *client.Client, _ []string) ([]vaultv1.Token, error) {
			return c.ListTokens(ctx)
		},
		text: func(out io.Writer, tokens []vaultv1.Token) error {
			return printTokens(out, tokens, env.now())
		},
	}.build(env, &cobra.Command{Use: "list", Short: "List the vault's tokens: role, kind, who made each, last use and expiry", Args: cobra.NoArgs})
}

func printTokens(out io.Writer, tokens []vaultv1.Token, now time.Time) error {
	tw := newTable(out)
	fmt.Fprintln(tw, "NAME\tROLE\tKIND\tCREATED BY\tCREATED\tLAST USED\tEXPIRES")
	for _, t := range tokens {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.Kind, orDash(t.CreatedBy), humanize.Age(now.Sub(t.CreatedAt))+" ago",
			agoOrNever(t.LastUsedAt, now), expiryCell(t, now))
	}
	return tw.Flush()
}

func agoOrNever(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	return humanize.Age(now.Sub(*t)) + " ago"
}

// expiryCell says when a token expires, or that it has.
func expiryCell(t vaultv1.Token, now time.Time) string {
	switch {
	case t.ExpiresAt == nil:
		return "never"
	case t.Expired:
		return "EXPIRED " + humanize.Age(now.Sub(*t.ExpiresAt)) + " ago"
	default:
		return "in " + humanize.Age(t.ExpiresAt.Sub(now))
	}
}

func newTokenRevokeCommand(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a token: its next call is refused",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			if err := c.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %q\n", args[0])
			return nil
		},
	}
}

func newIssueTokenCommand(env Env) *cobra.Command {
	var o vault.IssueOptions
	var expiresIn string
	cmd := &cobra.Command{
		Use:   "issue-token NAME --data-dir DIR [--database URL] [--vault V] [--role contributor | --admin] [--expires-in 1d]",
		Short: "Make a token straight in the vault's database, from the server's host (when no contributor token works any more)",
		Long: `Make a token without a token: for whoever can read the vault's database (its --data-dir, or its
PostgreSQL --database) when every contributor token has expired or been lost. Works beside a running
vault. The token is printed once; make proper tokens with it (cairn token create) and let it expire.
With --admin the token is the server administrator's, which makes, lists and deletes vaults.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := policy.ParseDuration(expiresIn)
			if err != nil {
				return fmt.Errorf("--expires-in: %w", err)
			}
			o.Name, o.Lifetime, o.Now = args[0], time.Duration(d), env.now
			secret, expires, err := vault.IssueToken(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			if o.Admin {
				fmt.Fprintf(env.Stderr, "the server administrator's token %q works until %s; it is shown only now\n", o.Name, expires.Format(time.RFC3339))
				return nil
			}
			fmt.Fprintf(env.Stderr, "token %q (%s) of vault %q works until %s; it is shown only now\n", o.Name, o.Role, o.Vault, expires.Format(time.RFC3339))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.DataDir, "data-dir", "cairn-vault", "the vault's data directory (its SQLite database)")
	fl.StringVar(&o.Database, "database", "", "the vault's PostgreSQL URL, instead of --data-dir")
	fl.StringVar(&o.Vault, "vault", "default", "the vault the token belongs to")
	fl.StringVar(&o.Role, "role", access.RoleContributor, roleHelp)
	fl.StringVar(&expiresIn, "expires-in", "1d", "how long the token works")
	fl.BoolVar(&o.Admin, "admin", false, "make a token of the server's administrator (it makes, lists and deletes vaults) instead of a vault's")
	cmd.MarkFlagsMutuallyExclusive("admin", "vault")
	cmd.MarkFlagsMutuallyExclusive("admin", "role")
	return cmd
}
