// Package cli builds cairn's command tree. Commands hold no global state: everything a command
// needs is created in its constructor or passed in, so tests can run several trees side by side.
package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/kube"
)

// NewRootCommand returns the cairn command with all subcommands, writing to out.
func NewRootCommand(out io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "cairn",
		Short: "Back up and restore Kubernetes clusters",
		Long: "cairn backs up every API object of a Kubernetes cluster and its persistent volumes to a blob\n" +
			"container, and restores them to the same or another cluster.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	target := &kube.Target{}
	root.PersistentFlags().StringVar(&target.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	root.PersistentFlags().StringVar(&target.Context, "context", "", "kubeconfig context (default: the current context)")
	root.AddCommand(newVersionCommand(), newClusterCommand(target))
	return root
}
