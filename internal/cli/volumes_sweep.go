package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/kube"
	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/usecase"
)

func newVolumesCommand(target *kube.Target, env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "volumes", Short: "Look after what copying volume data leaves in a cluster"}
	cmd.AddCommand(newVolumesSweepCommand(target, env))
	return cmd
}

func newVolumesSweepCommand(target *kube.Target, env Env) *cobra.Command {
	var namespace string
	var olderThan time.Duration
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Remove what killed data movers left: pods, claims, secrets, snapshot objects and unclaimed filled volumes",
		Long: `Remove the objects of data movers that did not finish (a killed backup or restore, a lost
connection): everything labelled backup.cairn.dev/mover in the mover namespace made more than
--older-than ago, the snapshot objects they made, and volumes filled for a claim that was never
created. A volume whose claim did bind gets its reclaim policy back. The agent does this itself when
it starts; a backup or restore still running elsewhere must be older than --older-than to be safe.`,
		Example: `  cairn volumes sweep --older-than 2h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if olderThan < 0 {
				return fmt.Errorf("--older-than %s: use a duration of 0 or more", olderThan)
			}
			cfg, err := target.RESTConfig()
			if err != nil {
				return err
			}
			r := &usecase.Runner{Config: cfg, Now: env.now}
			swept, err := r.SweepMovers(cmd.Context(), namespace, env.now().Add(-olderThan))
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d pods, %d claims, %d secrets, %d snapshot objects; released %d unclaimed volumes\n",
				swept.Pods, swept.Claims, swept.Secrets, swept.SnapshotObjects, swept.Volumes)
			return err
		},
	}
	cmd.Flags().StringVar(&namespace, "mover-namespace", trustgrant.DefaultNamespace, "namespace of the data mover's pods, claims and secrets")
	cmd.Flags().DurationVar(&olderThan, "older-than", time.Hour, "only what was made at least this long ago (a running copy is younger)")
	return cmd
}
