package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// runValidate checks what a backup of the instance will need, without backing up
// (docs/design/monitoring.md, "Validation before the first backup"): the job succeeds when every
// check passed and fails naming the failed ones.
func (a *agent) runValidate(ctx context.Context, j *jobRun, spec *agentv1.ValidateJob) outcome {
	c := spec.Config
	j.progress(0, 0, "validating")
	checks, err := a.useCases(j).Validate(ctx, usecase.ValidateRequest{
		Repository: a.repository(spec.Storage, j), Scope: backupScope(c), Hooks: c.BackupHooks, Wording: a.wording(ctx, spec.Storage),
		Volumes: usecase.Volumes{Snapshot: c.SnapshotVolumes, Class: c.SnapshotClass, Data: c.VolumeData, Mover: a.opts.Mover},
	})
	res := &agentv1.JobResult{}
	failedChecks := reportChecks(res, checks)
	j.progress(int64(len(checks)), 0, "validated")
	switch {
	case err != nil:
		return failed(res, fmt.Errorf("validate instance %q: %w", spec.Instance, err))
	case len(failedChecks) > 0:
		return outcome{state: agentv1.JobFailed, result: res,
			err: fmt.Sprintf("instance %q would not back up: %d check(s) failed: %s", spec.Instance, len(failedChecks), strings.Join(failedChecks, "; "))}
	}
	j.log.Info("instance validated: every check passed", "instance", spec.Instance, "checks", len(checks))
	return outcome{state: agentv1.JobSucceeded, result: res}
}

// reportChecks adds checks to res and returns the failed ones as "name: message".
func reportChecks(res *agentv1.JobResult, checks []usecase.Check) []string {
	var failed []string
	for _, c := range checks {
		res.Checks = append(res.Checks, agentv1.Check(c))
		if !c.OK {
			failed = append(failed, c.Name+": "+c.Message)
		}
	}
	return failed
}
