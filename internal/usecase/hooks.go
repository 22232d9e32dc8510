package usecase

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/hooks"
)

// LoadBackupHooks loads the referenced BackupHooks (NAMESPACE/NAME) of the cluster cfg reaches
// and returns their runner; nil when none are referenced.
func LoadBackupHooks(ctx context.Context, cfg *rest.Config, refs []string, now func() time.Time, log *slog.Logger) (*hooks.BackupRunner, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	c, err := newHookClients(cfg)
	if err != nil {
		return nil, err
	}
	loaded, err := hooks.LoadBackupHooks(ctx, c.dyn, refs)
	if err != nil {
		return nil, err
	}
	return hooks.NewBackupRunner(c.client, c.exec, loaded, now, log), nil
}

// LoadRestoreHooks loads the referenced RestoreHooks (NAMESPACE/NAME) of the cluster cfg reaches
// and returns their runner; nil when none are referenced.
func LoadRestoreHooks(ctx context.Context, cfg *rest.Config, refs []string, now func() time.Time, log *slog.Logger) (*hooks.RestoreRunner, error) {
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
	return hooks.NewRestoreRunner(c.client, c.exec, loaded, now, log), nil
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
