package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// newClusterVaultCommands are the cluster verbs that go through the vault: register, list, show
// and revoke.
func newClusterVaultCommands(env Env) []*cobra.Command {
	return []*cobra.Command{newClusterRegisterCommand(env), newClusterListCommand(env), newClusterShowCommand(env),
		newClusterRevokeCommand(env)}
}

func newClusterRegisterCommand(env Env) *cobra.Command {
	var manifestFile, tokenFile, grant string
	var vaultURL string
	cmd := vaultVerb[vaultv1.TrustGrant]{
		check: func([]string) error {
			if err := trustgrant.ValidGrant(grant); err != nil {
				return fmt.Errorf("--grant: %w", err)
			}
			if tokenFile == "" {
				return nil
			}
			if _, err := os.Stat(tokenFile); err == nil {
				return fmt.Errorf("--token-file %s exists: it may hold another cluster's token; remove it or pick another file", tokenFile)
			}
			return nil
		},
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.TrustGrant, error) {
			vaultURL = c.URL()
			g, err := c.RegisterCluster(ctx, vaultv1.ClusterRegistration{Name: args[0], Grant: grant})
			if err != nil {
				return g, err
			}
			return g, writeTrustGrant(env, g, tokenFile, manifestFile)
		},
		text: func(out io.Writer, g vaultv1.TrustGrant) error {
			printTrustGrant(out, g, vaultURL, manifestFile, tokenFile)
			return nil
		},
		outputHelp: "output format: table, json or yaml (json and yaml hold the token and the manifest)",
	}.build(env, &cobra.Command{
		Use:   "register NAME",
		Short: "Register a cluster with the vault: prints its agent's token once and the agent's trust grant",
		Long: `Register a cluster with the vault (contributors only). The vault answers with a trust grant: a
one-time agent token (the vault keeps only its hash: it is printed here and never again) and the
manifest of the agent's scoped identity in the cluster (namespace cairn-system, ServiceAccount
cairn-agent and a ClusterRole with the verbs backup and restore need). With --grant backup-only the
ClusterRole reads, snapshots and runs hooks but writes nothing cluster-wide, a Role lets the data
movers work in the agent's namespace, and restores need the restore grant applied for them (cairn
agent grant-restore). Registering a revoked cluster again grants anew.`,
		Example: `  cairn cluster register prod --manifest-file prod-agent.yaml
  cairn cluster register archive --grant backup-only --token-file archive-agent.token
  cairn cluster register prod --token-file prod-agent.token   # the token goes to the file only
  cairn cluster register prod -o json > prod-grant.json   # keep it secret: it holds the token`,
		Args: cobra.ExactArgs(1),
	})
	cmd.Flags().StringVar(&grant, "grant", trustgrant.GrantFull, "the agent's trust grant the manifest makes: "+trustgrant.GrantChoices())
	cmd.Flags().StringVar(&manifestFile, "manifest-file", "", "write the agent's trust-grant manifest (YAML) to this file")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "write the agent token to this new file (mode 0600) instead of printing it")
	return cmd
}

// writeTrustGrant writes the agent token and the manifest to the files asked for. The token is
// shown only once: if a file cannot be written, it goes to stderr rather than being lost.
func writeTrustGrant(env Env, g vaultv1.TrustGrant, tokenFile, manifestFile string) error {
	for _, f := range []struct{ flag, path, data string }{
		{"token-file", tokenFile, g.AgentToken + "\n"},
		{"manifest-file", manifestFile, g.Manifest},
	} {
		if f.path == "" {
			continue
		}
		mode := os.FileMode(0o644)
		if f.flag == "token-file" {
			mode = 0o600
		}
		if err := os.WriteFile(f.path, []byte(f.data), mode); err != nil {
			fmt.Fprintf(env.Stderr, "could not write the --%s; the agent token, shown only now, is:\n%s\n", f.flag, g.AgentToken)
			return fmt.Errorf("write --%s: %w", f.flag, err)
		}
	}
	return nil
}

func printTrustGrant(out io.Writer, g vaultv1.TrustGrant, vaultURL, manifestFile, tokenFile string) {
	name := g.Cluster.Name
	fmt.Fprintf(out, "registered cluster %q (%s)\n", name, g.Cluster.Health)
	grant := g.Grant
	if grant == "" { // a vault older than grants makes the full one
		grant = trustgrant.GrantFull
	}
	fmt.Fprintf(out, "grant: %s: %s\n", grant, trustgrant.Describe(grant))
	if grant == trustgrant.GrantBackupOnly {
		fmt.Fprintf(out, "       for restores, %s\n", trustgrant.RestoreGrantFix(""))
	}
	fmt.Fprintln(out)
	step1 := fmt.Sprintf("  1. the agent token is in %s (the vault keeps only its hash; whoever holds it acts as this cluster's agent)\n", tokenFile)
	if tokenFile == "" {
		tokenFile = name + "-agent.token"
		fmt.Fprintf(out, "agent token (WARNING: shown only this once; the vault keeps only its hash. Store it now,\n"+
			"readable by you only; whoever holds it acts as this cluster's agent):\n\n  %s\n\n", g.AgentToken)
		step1 = fmt.Sprintf("  1. save the token in a file only you can read, e.g. %s\n", tokenFile)
	}
	fmt.Fprintln(out, "next steps:")
	fmt.Fprint(out, step1)
	review := "--manifest-file writes it out for review"
	if manifestFile != "" {
		review = "it is in " + manifestFile + " for review"
	}
	fmt.Fprintf(out, "  2. with --kubeconfig/--context pointing at the cluster, install the agent: it applies the trust grant\n"+
		"     (%s), the agent's secrets and its Deployment:\n", review)
	grantFlag := ""
	if grant != trustgrant.GrantFull {
		grantFlag = " --grant " + grant
	}
	fmt.Fprintf(out, "       cairn agent install --vault %s --token-file %s%s --image IMAGE --secret PASSPHRASE-SECRET=FILE\n", vaultURL, tokenFile, grantFlag)
	fmt.Fprintf(out, "  3. check the agent reports:    cairn cluster show %s   (health turns healthy)\n", name)
}

func newClusterListCommand(env Env) *cobra.Command {
	return vaultVerb[[]vaultv1.Cluster]{
		call: func(ctx context.Context, c *client.Client, _ []string) ([]vaultv1.Cluster, error) {
			list, _, err := collect(0, func(limit int, cursor string) (vaultv1.List[vaultv1.Cluster], error) {
				return c.ListClusters(ctx, client.ClusterFilter{Limit: limit, Cursor: cursor})
			})
			return list, err
		},
		text: func(out io.Writer, list []vaultv1.Cluster) error {
			t := newTable(out)
			fmt.Fprintln(t, "NAME\tHEALTH\tLAST HEARTBEAT\tAGENT\tKUBERNETES\tREGISTERED")
			for _, cl := range list {
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\n", cl.Name, cl.Health, formatTime(cl.LastHeartbeat), orDash(cl.AgentVersion),
					orDash(cl.KubernetesVersion), formatTime(&cl.RegisteredAt))
			}
			return t.Flush()
		},
	}.build(env, &cobra.Command{Use: "list", Short: "List the clusters registered with the vault, with their agents' health", Args: cobra.NoArgs})
}

func newClusterShowCommand(env Env) *cobra.Command {
	return vaultVerb[vaultv1.Cluster]{
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.Cluster, error) {
			return c.GetCluster(ctx, args[0])
		},
		text: printCluster,
	}.build(env, &cobra.Command{Use: "show NAME", Short: "Show a registered cluster and its agent", Args: cobra.ExactArgs(1)})
}

func printCluster(out io.Writer, cl vaultv1.Cluster) error {
	namespaces := "-" // not reported yet
	if len(cl.Namespaces) > 0 {
		namespaces = fmt.Sprintf("%d (%s)", len(cl.Namespaces), summarize(cl.Namespaces, 10))
	}
	_, err := fmt.Fprintf(out, "cluster %q\n  health:          %s\n  registered:      %s\n  last heartbeat:  %s\n  agent version:   %s\n  kubernetes:      %s\n  namespaces:      %s\n",
		cl.Name, cl.Health, formatTime(&cl.RegisteredAt), formatTime(cl.LastHeartbeat), orDash(cl.AgentVersion), orDash(cl.KubernetesVersion), namespaces)
	return err
}

func newClusterRevokeCommand(env Env) *cobra.Command {
	return vaultVerb[vaultv1.Cluster]{
		call: func(ctx context.Context, c *client.Client, args []string) (vaultv1.Cluster, error) {
			return c.RevokeCluster(ctx, args[0])
		},
		text: func(out io.Writer, cl vaultv1.Cluster) error {
			_, err := fmt.Fprintf(out, "revoked cluster %q: its agent's token is refused from its next call, its queued and running jobs fail; "+
				"cairn cluster register %s grants anew\n", cl.Name, cl.Name)
			return err
		},
	}.build(env, &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a cluster's trust grant: its agent is refused from its next call and its jobs fail",
		Args:  cobra.ExactArgs(1),
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
