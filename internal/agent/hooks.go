package agent

import (
	"context"
	"fmt"
	"log/slog"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/hooks"
)

// hookClients are what loading and running hooks in the agent's cluster needs.
type hookClients struct {
	client kubernetes.Interface
	dyn    dynamic.Interface
	exec   hooks.Executor
}

func (a *agent) hookClients() (hookClients, error) {
	client, err := kubernetes.NewForConfig(a.opts.Config)
	if err != nil {
		return hookClients{}, fmt.Errorf("create client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(a.opts.Config)
	if err != nil {
		return hookClients{}, fmt.Errorf("create client: %w", err)
	}
	exec, err := hooks.NewExecutor(a.opts.Config, client)
	if err != nil {
		return hookClients{}, err
	}
	return hookClients{client: client, dyn: dyn, exec: exec}, nil
}

// backupHooks loads the referenced BackupHooks (NAMESPACE/NAME); nil when none are referenced.
func (a *agent) backupHooks(ctx context.Context, refs []string, log *slog.Logger) (*hooks.BackupRunner, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	c, err := a.hookClients()
	if err != nil {
		return nil, err
	}
	loaded, err := hooks.LoadBackupHooks(ctx, c.dyn, refs)
	if err != nil {
		return nil, err
	}
	return hooks.NewBackupRunner(c.client, c.exec, loaded, a.now, log), nil
}

// restoreHooks loads the referenced RestoreHooks (NAMESPACE/NAME); nil when none are referenced.
func (a *agent) restoreHooks(ctx context.Context, refs []string, log *slog.Logger) (*hooks.RestoreRunner, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	c, err := a.hookClients()
	if err != nil {
		return nil, err
	}
	loaded, err := hooks.LoadRestoreHooks(ctx, c.dyn, refs)
	if err != nil {
		return nil, err
	}
	return hooks.NewRestoreRunner(c.client, c.exec, loaded, a.now, log), nil
}
