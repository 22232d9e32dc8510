package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// The server administrator's commands (docs/design/vault.md, "Vaults and the server's
// administrator"), run logged in with the administrator's token (server-admin.token).

func newVaultAdminCommands(env Env) []*cobra.Command {
	return []*cobra.Command{newVaultCreateCommand(env), newVaultListCommand(env), newVaultDeleteCommand(env),
		newVaultTokenCommand(env), newVaultAuditCommand(env)}
}

func newVaultCreateCommand(env Env) *cobra.Command {
	first := vaultv1.TokenRequest{Name: "admin", Role: access.RoleContributor}
	cmd := &cobra.Command{
		Use:   "create NAME [--token-name admin] [--role contributor] [--expires-in 90d]",
		Short: "Make a vault on the server and its first token, printed once (the server administrator's)",
		Example: `  cairn login --vault https://vault.example:8443 --token-file cairn-vault/server-admin.token
  cairn vault create team-a > team-a.token`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := access.ValidVaultName(args[0]); err != nil {
				return err
			}
			if err := checkTokenRequest(first); err != nil {
				return err
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			made, err := c.CreateVault(cmd.Context(), args[0], &first)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), made.Token.Token)
			fmt.Fprintf(env.Stderr, "vault %q made; its token %q (%s) works until %s and is shown only now\n",
				made.Vault.Name, made.Token.Name, made.Token.Role, made.Token.ExpiresAt.Format(time.RFC3339))
			return nil
		},
	}
	registerTokenFlags(cmd, &first, "token-name")
	return cmd
}

func newVaultTokenCommand(env Env) *cobra.Command {
	req := vaultv1.TokenRequest{Role: access.RoleContributor}
	cmd := &cobra.Command{
		Use:   "token VAULT --token-name NAME [--role contributor] [--expires-in 90d]",
		Short: "Make a token in a vault, printed once (the server administrator's way back into a vault)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTokenRequest(req); err != nil {
				return err
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			t, err := c.CreateVaultToken(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.Token)
			fmt.Fprintf(env.Stderr, "token %q (%s) of vault %q works until %s; it is shown only now\n", t.Name, t.Role, args[0], t.ExpiresAt.Format(time.RFC3339))
			return nil
		},
	}
	registerTokenFlags(cmd, &req, "token-name")
	_ = cmd.MarkFlagRequired("token-name")
	return cmd
}

func registerTokenFlags(cmd *cobra.Command, req *vaultv1.TokenRequest, nameFlag string) {
	cmd.Flags().StringVar(&req.Name, nameFlag, req.Name, "the token's name")
	cmd.Flags().StringVar(&req.Role, "role", req.Role, roleHelp)
	cmd.Flags().StringVar(&req.ExpiresIn, "expires-in", "", "how long the token works, 1m to 366d (default: the server's token lifetime)")
}

func checkTokenRequest(req vaultv1.TokenRequest) error {
	if err := access.ValidTokenName(req.Name); err != nil {
		return fmt.Errorf("--token-name: %w", err)
	}
	if err := access.ValidUserRole(req.Role); err != nil {
		return fmt.Errorf("--role: %w", err)
	}
	return nil
}

func newVaultListCommand(env Env) *cobra.Command {
	return vaultVerb[[]vaultv1.Vault]{
		call: func(ctx context.Context, c *client.Client, _ []string) ([]vaultv1.Vault, error) {
			return c.ListVaults(ctx)
		},
		text: func(out io.Writer, list []vaultv1.Vault) error {
			t := newTable(out)
			fmt.Fprintln(t, "NAME\tCLUSTERS\tINSTANCES\tRECOVERY POINTS\tTOKENS\tCREATED")
			for _, v := range list {
				fmt.Fprintf(t, "%s\t%d\t%d\t%d\t%d\t%s\n", v.Name, v.Clusters, v.Instances, v.RecoveryPoints, v.Tokens, formatTime(&v.CreatedAt))
			}
			return t.Flush()
		},
	}.build(env, &cobra.Command{Use: "list", Short: "List the server's vaults with what each holds (the server administrator's)", Args: cobra.NoArgs})
}

func newVaultDeleteCommand(env Env) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete NAME --yes",
		Short: "Delete an empty vault with its tokens, policies, rules, job history and audit (the server administrator's)",
		Long: `Delete a vault. The server refuses a vault that still has instances or clusters not revoked: delete its
instances (their recovery points go through them) and revoke its clusters first, with a token of the vault.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return errors.New("deleting a vault deletes its tokens, policies, notification rules, job history and audit log: give --yes")
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			if err := c.DeleteVault(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted vault %q\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	return cmd
}

func newVaultAuditCommand(env Env) *cobra.Command {
	return auditListCommand(env, (*client.Client).ListServerAudit,
		&cobra.Command{Use: "audit", Short: "The server administrator's calls, newest first", Args: cobra.NoArgs})
}
