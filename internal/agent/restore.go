package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/internal/agent/metrics"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/restore/modifier"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// Limits on the diffs a restore summary carries to the vault.
const (
	maxItemDiff   = 4 << 10
	maxTotalDiffs = 256 << 10
)

// runRestore restores a recovery point into the agent's cluster: pre-flight checks first, each
// of which stops the job when it fails, then (unless a dry run was asked for) the restore.
func (a *agent) runRestore(ctx context.Context, j *jobRun, spec *agentv1.RestoreJob) outcome {
	res := &agentv1.JobResult{}
	opts, err := a.restoreOptions(spec)
	if err != nil {
		return failed(res, fmt.Errorf("restore options: %w", err))
	}
	j.log.Info("restoring", "restore", spec.Name, "recoveryPoint", spec.RecoveryPoint, "sourceCluster", spec.SourceCluster,
		"conflictPolicy", opts.ConflictPolicy, "dryRun", spec.Options.DryRun)
	got, err := a.useCases(j).Restore(ctx, usecase.RestoreRequest{
		Repository: a.repository(spec.Storage, j), Restore: opts, Hooks: spec.Options.RestoreHooks,
		SourceCluster: spec.SourceCluster, Wording: a.wording(ctx, spec.Storage), Progress: progressOf(j), Mover: a.restoreMover(),
	})
	for _, c := range got.Checks {
		res.Checks = append(res.Checks, agentv1.Check(c))
	}
	r := got.Result
	if r == nil {
		return failed(res, err)
	}
	a.metrics.HookRuns(metrics.RestoreHook, r.Hooks)
	if spec.Options.DryRun {
		res.Restore = restoreSummary(r, nil)
		res.Warnings = append(res.Warnings, r.Warnings...)
		if n := r.Counts.Failed; n > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the dry run found %d object(s) that would fail to restore", n))
		}
		logLines(j, slog.LevelWarn, "warning", res.Warnings)
		j.log.Info("dry run done: nothing was changed", "created", r.Counts.Created, "patched", r.Counts.Patched,
			"recreated", r.Counts.Recreated, "skipped", r.Counts.Skipped, "failed", r.Counts.Failed)
		return outcome{state: agentv1.JobSucceeded, result: res}
	}
	res.Restore = restoreSummary(r, got.DryRun)
	res.Warnings = append(res.Warnings, r.Warnings...)
	if err != nil {
		res.Warnings = append(res.Warnings, err.Error())
	}
	res.Errors = append(res.Errors, restoreErrors(r)...)
	logLines(j, slog.LevelWarn, "warning", res.Warnings)
	logLines(j, slog.LevelError, "error", res.Errors)
	c := r.Counts
	j.totals(int64(r.Counts.Total()), 0, "restored")
	j.log.Info("restore done", "phase", r.Phase, "created", c.Created, "patched", c.Patched, "recreated", c.Recreated,
		"unchanged", c.Unchanged, "skipped", c.Skipped, "failed", c.Failed, "volumes", res.Restore.Volumes)
	switch r.Phase {
	case restore.PhaseCompleted:
		return outcome{state: agentv1.JobSucceeded, result: res}
	case restore.PhasePartiallyFailed:
		return outcome{state: agentv1.JobPartiallyFailed, result: res, err: fmt.Sprintf("restore partially failed: %s", humanize.First(res.Errors))}
	}
	return outcome{state: agentv1.JobFailed, result: res, err: fmt.Sprintf("restore failed: %s", humanize.First(res.Errors))}
}

// restoreOptions maps the job's options onto the engine's, as `cairn restore create` maps its flags.
func (a *agent) restoreOptions(spec *agentv1.RestoreJob) (restore.Options, error) {
	o := spec.Options
	if err := archive.ValidateName(spec.Name); err != nil {
		return restore.Options{}, fmt.Errorf("restore name: %w", err)
	}
	if err := restore.CheckChoices(o.ConflictPolicy, o.Volumes); err != nil {
		return restore.Options{}, err
	}
	if err := restore.CheckVolumeSource(o.VolumeSource); err != nil {
		return restore.Options{}, err
	}
	sc, err := scope.New(restoreScope(o))
	if err != nil {
		return restore.Options{}, err
	}
	for what, m := range map[string]map[string]string{"namespace": o.NamespaceMapping, "storage class": o.StorageClassMapping} {
		for from, to := range m {
			if from == "" || to == "" {
				return restore.Options{}, fmt.Errorf("%s mapping %q=%q: name both sides", what, from, to)
			}
		}
	}
	var rules *modifier.Rules
	if strings.TrimSpace(o.Modifiers) != "" {
		if rules, err = modifier.Parse([]byte(o.Modifiers)); err != nil {
			return restore.Options{}, fmt.Errorf("resource modifiers: %w", err)
		}
	}
	policy := o.ConflictPolicy
	if policy == "" {
		policy = restore.ConflictSkip
	}
	return restore.Options{Name: spec.Name, Backup: spec.RecoveryPoint, Scope: sc, Names: o.Names,
		NamespaceMapping: o.NamespaceMapping, StorageClassMapping: o.StorageClassMapping, ConflictPolicy: policy,
		Modifiers: rules, Volumes: o.Volumes, VolumeSource: o.VolumeSource, DryRun: o.DryRun}, nil
}

// restoreMover is the data mover a restore fills claims from copies with: none without an image
// (a claim that needs one then fails, naming what is missing).
func (a *agent) restoreMover() *usecase.MoverOptions {
	if a.opts.Mover.Image == "" {
		return nil
	}
	m := a.opts.Mover
	return &m
}

// restoreSummary is the vault's summary of a restore: the counts, and up to MaxRestoreItems items,
// those not created first. Diffs come from the restore itself (a dry run) or from dry, the dry run
// that preceded it.
func restoreSummary(r *restore.Result, dry *restore.Result) *agentv1.RestoreSummary {
	c := r.Counts
	s := &agentv1.RestoreSummary{Name: r.Name, Phase: r.Phase, DryRun: r.DryRun, Created: c.Created, Patched: c.Patched,
		Recreated: c.Recreated, Unchanged: c.Unchanged, Skipped: c.Skipped, Failed: c.Failed}
	for _, v := range r.Volumes {
		if v.Outcome == restore.VolumeRestored || v.Outcome == restore.VolumeWouldRestore {
			s.Volumes++
		}
	}
	diffs := map[string]string{}
	if dry != nil {
		for _, it := range dry.Items {
			if it.Diff != "" {
				diffs[itemKey(it)] = it.Diff
			}
		}
	}
	items := append([]restore.ItemResult(nil), r.Items...)
	sort.SliceStable(items, func(i, j int) bool { return actionRank(items[i].Action) < actionRank(items[j].Action) })
	budget := maxTotalDiffs
	for _, it := range items[:min(len(items), agentv1.MaxRestoreItems)] {
		// Items are named as they are in this cluster: namespace mapping moves objects and renames
		// Namespace objects.
		ns, name := it.Namespace, it.Name
		if it.TargetNamespace != "" {
			ns = it.TargetNamespace
		}
		if to, ok := r.Spec.NamespaceMapping[name]; ok && it.Resource == "namespaces" {
			name = to
		}
		diff := it.Diff
		if diff == "" {
			diff = diffs[itemKey(it)]
		}
		if len(diff) > maxItemDiff {
			diff = diff[:maxItemDiff] + "\n... (diff truncated)\n"
		}
		if len(diff) > budget {
			diff = "" // the summary's diffs are bounded; cairn restore describe shows a dry run's in full
		}
		budget -= len(diff)
		s.Items = append(s.Items, agentv1.RestoreItem{Resource: it.Resource, Namespace: ns, Name: name,
			Action: it.Action, Reason: it.Reason, Diff: diff})
	}
	return s
}

func itemKey(it restore.ItemResult) string { return it.Resource + "/" + it.Namespace + "/" + it.Name }

// actionRank orders items for the summary: what needs attention first, plain creates last.
func actionRank(action string) int {
	switch action {
	case restore.ActionFail:
		return 0
	case restore.ActionPatch:
		return 1
	case restore.ActionRecreate:
		return 2
	case restore.ActionSkip:
		return 3
	case restore.ActionUnchanged:
		return 4
	}
	return 5
}

// restoreErrors lists what failed: items (up to maxResultLines), volumes and hooks.
func restoreErrors(r *restore.Result) []string {
	var out []string
	n := 0
	for _, it := range r.Items {
		if it.Action != restore.ActionFail {
			continue
		}
		if n++; n <= maxResultLines {
			out = append(out, fmt.Sprintf("%s %s: %s", it.Resource, qualified(it.Namespace, it.Name), it.Reason))
		}
	}
	if n > maxResultLines {
		out = append(out, fmt.Sprintf("and %d more failed items (see the restore's items)", n-maxResultLines))
	}
	for _, v := range r.Volumes {
		if v.Outcome == restore.VolumeFailed {
			out = append(out, fmt.Sprintf("volume of claim %s: %s", qualified(v.Namespace, v.Claim), v.Reason))
		}
	}
	for _, h := range r.Hooks {
		if h.Outcome != archive.HookSucceeded && h.OnError == string(v1alpha1.HookErrorFail) {
			out = append(out, fmt.Sprintf("hook %s in pod %s: %s %s", h.Hook, qualified(h.Namespace, h.Pod), h.Outcome, h.Error))
		}
	}
	return out
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
