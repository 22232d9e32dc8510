package usecase

import (
	"context"
	"fmt"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/restore"
)

// Names of a restore's pre-flight checks after the first, which Wording names; in the order they
// run.
const (
	CheckStorage       = "storage"
	CheckRecoveryPoint = "recovery-point"
	CheckPermissions   = "permissions"
	CheckConflicts     = "conflicts"
)

// Check is one pre-flight check of a restore.
type Check struct {
	Name    string
	OK      bool
	Message string
}

// recorder returns the function that records a check in *checks and logs it: passed with message
// passed when err is nil, else failed with err's message; what names the checks in the log
// ("validation", "test restore").
func (r *Runner) recorder(what string, checks *[]Check) func(name string, err error, passed string) {
	return func(name string, err error, passed string) {
		c := Check{Name: name, OK: err == nil, Message: passed}
		if err != nil {
			c.Message = err.Error()
			r.Logger.Error(what+" check failed", "check", name, "message", c.Message)
		} else {
			r.Logger.Info(what+" check passed", "check", name, "message", c.Message)
		}
		*checks = append(*checks, c)
	}
}

// CheckError is a failed pre-flight check: it stopped the restore.
type CheckError struct {
	Check Check
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("pre-flight check %s failed: %s", e.Check.Name, e.Check.Message)
}

// Wording words the checks that depend on who runs the restore: an agent in its cluster, or the
// command line on someone's machine.
type Wording struct {
	// RunnerCheck names the first check, which says who runs the restore.
	RunnerCheck string
	// Runner is that check's message, given the cluster's Kubernetes version (or why it is
	// unknown).
	Runner func(kubernetesVersion string) string
	// Credential ends "the repository at <storage> opens with ...": what unlocked it.
	Credential string
	// Subject is who needs the restore's permissions in the cluster, e.g. "the agent".
	Subject string
	// Grant says how to get the permissions Subject lacks.
	Grant string
	// Restores, if set, says what Subject lacks for restores that a backup does not need (the
	// agent holding the backup-only grant): a validation's passing permissions check ends with it.
	Restores string
}

// preflight runs the restore's pre-flight checks, recording each in out, and returns the
// repository. When a check fails it returns a *CheckError.
func (r *Runner) preflight(ctx context.Context, req RestoreRequest, opts restore.Options, out *RestoreResult) (*archive.Repository, error) {
	w := req.Wording
	pass := func(name, msg string) {
		out.Checks = append(out.Checks, Check{Name: name, OK: true, Message: msg})
		r.Logger.Info("pre-flight check passed", "check", name, "message", msg)
	}
	fail := func(name, msg string) error {
		c := Check{Name: name, OK: false, Message: msg}
		out.Checks = append(out.Checks, c)
		r.Logger.Error("pre-flight check failed", "check", name, "message", msg)
		return &CheckError{Check: c}
	}
	report(req.Progress, Progress{Stage: StagePreflight})

	kv, err := r.Engines.KubernetesVersion(ctx, r.Config)
	if err != nil {
		kv = "version unknown: " + err.Error()
	}
	pass(w.RunnerCheck, w.Runner(kv))

	repo, _, err := r.open(ctx, req.Repository, false)
	if err != nil {
		return nil, fail(CheckStorage, err.Error())
	}
	pass(CheckStorage, fmt.Sprintf("the repository at %s opens with %s", repo.Storage(), w.Credential))

	b, err := repo.OpenBackup(ctx, opts.Backup)
	if err != nil {
		return nil, fail(CheckRecoveryPoint, err.Error())
	}
	m := b.Manifest()
	if m.Result.Phase == archive.PhaseFailed && !opts.AllowFailedBackup {
		return nil, fail(CheckRecoveryPoint, fmt.Sprintf("recovery point %q failed (%s): it holds nothing to restore", opts.Backup, humanize.First(m.Result.Errors)))
	}
	ix, err := b.Index(ctx)
	if err != nil {
		return nil, fail(CheckRecoveryPoint, err.Error())
	}
	pass(CheckRecoveryPoint, fmt.Sprintf("recovery point %q: %s, %d items, taken %s in cluster %s", opts.Backup, m.Result.Phase,
		m.Result.Items, m.CompletedAt.UTC().Format("2006-01-02 15:04:05 MST"), orUnknown(req.SourceCluster, m.Cluster.Server)))

	needed := neededAccess(ix, opts, len(req.Hooks) > 0)
	missing, err := r.Engines.MissingAccess(ctx, r.Config, needed)
	if err != nil {
		return nil, fail(CheckPermissions, fmt.Sprintf("cannot check %s's permissions: %v", w.Subject, err))
	}
	if len(missing) > 0 {
		return nil, fail(CheckPermissions, fmt.Sprintf("%s may not %s: %s", w.Subject, summarizeAccess(missing), w.Grant))
	}
	pass(CheckPermissions, fmt.Sprintf("%s may do the %d kinds of operation the restore needs", w.Subject, len(needed)))

	// The dry run checks every object against the cluster. Unless the restore itself is a dry run
	// it reads the repository through a storage that drops writes, so it records no restore result.
	report(req.Progress, Progress{Stage: StageConflicts})
	dryRepo := repo
	if !opts.DryRun {
		dryRepo = repo.OnStorage(readOnly{repo.Storage()})
	}
	dryOpts := opts
	dryOpts.DryRun = true
	dryOpts.Progress = func(p restore.Progress) {
		report(req.Progress, Progress{Stage: StageConflicts, Items: int64(p.Done), Resource: p.Resource})
	}
	dry, err := r.Engines.Restore(ctx, r.Config, dryRepo, dryOpts)
	if err != nil {
		return nil, fail(CheckConflicts, fmt.Sprintf("the dry run failed: %v", err))
	}
	out.DryRun = dry
	msg, ok := conflictMessage(dry, opts.ConflictPolicy)
	if !ok {
		return nil, fail(CheckConflicts, msg)
	}
	pass(CheckConflicts, msg)
	if !opts.DryRun {
		dry.Items = itemsWithDiffs(dry.Items)
	}
	return repo, nil
}

// itemsWithDiffs keeps the dry run's items that carry a diff: once the restore itself runs, with
// items of its own, the diffs are all that is read of them, and a restore of many objects should
// not hold every item twice.
func itemsWithDiffs(items []restore.ItemResult) []restore.ItemResult {
	var kept []restore.ItemResult
	for _, it := range items {
		if it.Diff != "" {
			kept = append(kept, it)
		}
	}
	return kept
}

func orUnknown(names ...string) string {
	for _, n := range names {
		if n != "" {
			return n
		}
	}
	return "(unknown)"
}
