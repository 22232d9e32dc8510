package usecase

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/mover"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// RestoreRequest is a restore to run.
type RestoreRequest struct {
	// Repository holds the recovery point.
	Repository RepositoryRef
	// Restore is what to restore and how, as the restore engine takes it; the use case sets its
	// Hooks, Progress, Logger and Now.
	Restore restore.Options
	// Hooks are the RestoreHooks (NAMESPACE/NAME) to run in the restored pods.
	Hooks []string
	// SkipPreflight runs the restore without its pre-flight checks.
	SkipPreflight bool
	// SourceCluster names the cluster the recovery point was taken in, when the front end knows
	// it by name; the checks fall back to the server the manifest records.
	SourceCluster string
	// Wording words the checks that depend on who runs the restore.
	Wording Wording
	// Mover, if set, configures the data mover that fills claims from their copies.
	Mover *MoverOptions
	// Progress, if set, is told where the restore is; it is called from several goroutines.
	Progress func(Progress)
}

// RestoreResult is what a restore found and did.
type RestoreResult struct {
	// Checks are the pre-flight checks that ran, in order; the last one failed if any did.
	Checks []Check
	// DryRun is the pre-flight checks' dry run, when they got that far. When the restore itself
	// ran, its items are only those with a diff (the counts are all there).
	DryRun *restore.Result
	// Result is the restore's, a dry run when one was asked for (then the same as DryRun, unless
	// the checks were skipped); nil when the restore did not run.
	Result *restore.Result
}

// Restore restores a recovery point into the cluster: its pre-flight checks first, unless
// skipped, each of which stops the restore when it fails (a *CheckError); then, unless a dry run
// was asked for, which the checks ran already, the restore with its hooks. An error with a Result
// means the restore ran but its result could not be recorded in the repository.
func (r *Runner) Restore(ctx context.Context, req RestoreRequest) (RestoreResult, error) {
	r = r.withDefaults()
	var out RestoreResult
	opts := req.Restore
	if err := archive.ValidateName(opts.Name); err != nil {
		return out, fmt.Errorf("restore name: %w", err)
	}
	var err error
	if opts.Scope == nil {
		if opts.Scope, err = scope.New(scope.Spec{}); err != nil {
			return out, err
		}
	}
	opts.Now, opts.Logger = r.Now, r.Logger
	var repo *archive.Repository
	if req.SkipPreflight {
		if repo, _, err = r.open(ctx, req.Repository, false); err != nil {
			return out, err
		}
	} else {
		if repo, err = r.preflight(ctx, req, opts, &out); err != nil {
			return out, err
		}
		if opts.DryRun {
			out.Result = out.DryRun
			return out, nil
		}
	}
	if !opts.DryRun {
		// Hooks never run in a dry run: only a restore loads them.
		if opts.Hooks, err = r.Engines.RestoreHooks(ctx, r.Config, req.Hooks, r.Now, r.Logger); err != nil {
			return out, fmt.Errorf("restore hooks: %w", err)
		}
	}
	if req.Mover != nil && !opts.DryRun {
		if opts.Mover, err = r.restoreMover(req); err != nil {
			return out, err
		}
	}
	opts.Progress = func(p restore.Progress) {
		report(req.Progress, Progress{Stage: StageRestore, Items: int64(p.Done), Resource: p.Resource})
	}
	report(req.Progress, Progress{Stage: StageRestore})
	res, err := r.Engines.Restore(ctx, r.Config, repo, opts)
	if res == nil {
		return out, fmt.Errorf("restore %q: %w", opts.Name, err)
	}
	out.Result = res
	return out, err
}

// restoreMover makes the data mover that fills claims from their copies.
func (r *Runner) restoreMover(req RestoreRequest) (*mover.Mover, error) {
	cred, err := req.Repository.Credential()
	if err != nil {
		return nil, err
	}
	snaps, err := r.Engines.Snapshotter(r.Config, snapshot.Options{Now: r.Now, Logger: r.Logger})
	if err != nil {
		return nil, err
	}
	return r.dataMover(*req.Mover, req.Repository.Location, cred, snaps)
}
