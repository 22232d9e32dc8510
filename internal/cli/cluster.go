package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/kube"
)

func newClusterCommand(target *kube.Target, env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Inspect the cluster cairn points at; register clusters with the vault",
	}
	cmd.AddCommand(newClusterInfoCommand(target))
	cmd.AddCommand(newClusterVaultCommands(env)...)
	return cmd
}

func newClusterInfoCommand(target *kube.Target) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the cluster's server, version, nodes and the resource types a backup would capture",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("unknown output format %q: use --output text or --output json", output)
			}
			cfg, err := target.RESTConfig()
			if err != nil {
				return err
			}
			s, err := kube.Summarize(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			_, err = fmt.Fprintf(out, "server:         %s\nversion:        %s\nnodes:          %d (%d ready)\nnamespaces:     %d\nresource types: %d\n",
				s.Server, s.Version, s.Nodes, s.ReadyNodes, s.Namespaces, s.ResourceTypes)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
