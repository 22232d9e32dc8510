package agent

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/humanize"
)

// runVerify reads a recovery point back and checks it end to end, like `cairn backup verify`: the
// manifest's authentication, every file's size and checksum, and every section and item.
func (a *agent) runVerify(ctx context.Context, j *jobRun, spec *agentv1.VerifyJob) outcome {
	repo, err := a.openRecoveryPoint(ctx, j, spec.RecoveryPoint, spec.Storage)
	if err != nil {
		return failed(nil, err)
	}
	j.log.Info("verifying recovery point", "recoveryPoint", spec.RecoveryPoint, "storage", repo.Storage().String())
	j.progress(0, 0, "verifying")
	rep, err := repo.Verify(ctx, spec.RecoveryPoint)
	if err != nil {
		return failed(nil, fmt.Errorf("verify recovery point %q: %w", spec.RecoveryPoint, err))
	}
	j.progress(int64(rep.Items), 0, "verified")
	if len(rep.Problems) > 0 {
		logLines(j, slog.LevelError, "problem", rep.Problems)
		return outcome{state: agentv1.JobFailed, result: &agentv1.JobResult{Errors: rep.Problems},
			err: fmt.Sprintf("recovery point %q is damaged: %d problem(s): %s", spec.RecoveryPoint, len(rep.Problems), humanize.First(rep.Problems))}
	}
	j.log.Info("recovery point intact", "recoveryPoint", spec.RecoveryPoint, "files", rep.Files, "sections", rep.Sections, "items", rep.Items)
	return outcome{state: agentv1.JobSucceeded, result: &agentv1.JobResult{}}
}
