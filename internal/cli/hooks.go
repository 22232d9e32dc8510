package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/crds"
	"github.com/cairnbackup/cairn/internal/hooks"
	"github.com/cairnbackup/cairn/internal/kube"
)

func newHooksCommand(target *kube.Target, env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "hooks", Short: "BackupHook and RestoreHook custom resources"}
	cmd.AddCommand(&cobra.Command{
		Use:   "install-crds",
		Short: "Install (or update) the BackupHook and RestoreHook CRDs the binary carries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := target.RESTConfig()
			if err != nil {
				return err
			}
			names, err := crds.Install(cmd.Context(), cfg)
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "installed CRD %s\n", n)
			}
			return err
		},
	})
	return cmd
}

// hookClients are what loading and running hooks needs.
type hookClients struct {
	client kubernetes.Interface
	dyn    dynamic.Interface
	exec   hooks.Executor
}

func newHookClients(cfg *rest.Config) (hookClients, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return hookClients{}, fmt.Errorf("create client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return hookClients{}, fmt.Errorf("create client: %w", err)
	}
	exec, err := hooks.NewExecutor(cfg, client)
	if err != nil {
		return hookClients{}, err
	}
	return hookClients{client: client, dyn: dyn, exec: exec}, nil
}

// restoreHookRunner loads the referenced RestoreHooks; nil when none are referenced.
func restoreHookRunner(ctx context.Context, cfg *rest.Config, refs []string, log *slog.Logger) (*hooks.RestoreRunner, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	c, err := newHookClients(cfg)
	if err != nil {
		return nil, err
	}
	loaded, err := hooks.LoadRestoreHooks(ctx, c.dyn, refs)
	if err != nil {
		return nil, err
	}
	return hooks.NewRestoreRunner(c.client, c.exec, loaded, time.Now, log), nil
}

func printHookExecutions(out io.Writer, execs []archive.HookExecution) {
	if len(execs) == 0 {
		return
	}
	t := newTable(out)
	fmt.Fprintln(t, "\nHOOK\tPHASE\tPOD\tCONTAINER\tCOMMAND\tEXIT\tDURATION\tOUTCOME\tERROR")
	for _, e := range execs {
		fmt.Fprintf(t, "%s\t%s\t%s/%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.Hook, e.Phase, e.Namespace, e.Pod, e.Container,
			summarizeCommand(e.Command), e.ExitCode, seconds(e.DurationSeconds), e.Outcome, e.Error)
	}
	_ = t.Flush()
}

func summarizeCommand(cmd []string) string {
	s := strings.Join(cmd, " ")
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// discardLogger is for engines whose progress the CLI shows by other means (results tables).
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
