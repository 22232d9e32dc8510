package agent

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/files"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// runVerify reads a recovery point back at the job's level, like `cairn backup verify --level`:
// structure (the manifest's authentication, every file's presence and size, the index, the
// volume copies' trees) or data (all of it, every byte). A level this agent does not know is
// verified as data, the most it can do.
func (a *agent) runVerify(ctx context.Context, j *jobRun, spec *agentv1.VerifyJob) outcome {
	level := spec.Level
	switch {
	case level == "":
		level = agentv1.VerifyData
	case !slices.Contains(agentv1.VerifyLevels, level):
		j.log.Warn("unknown verification level: verifying the data", "level", level)
		level = agentv1.VerifyData
	}
	repo, err := a.openRecoveryPoint(ctx, j, spec.RecoveryPoint, spec.Storage)
	if err != nil {
		return failed(nil, err)
	}
	j.log.Info("verifying recovery point", "recoveryPoint", spec.RecoveryPoint, "level", level, "storage", repo.Storage().String())
	j.progress(0, 0, "verifying the "+level)
	rep, err := usecase.VerifyRecoveryPoint(ctx, repo, spec.RecoveryPoint, level, files.Options{Clock: a.now, Logger: j.log})
	res := &agentv1.JobResult{Errors: rep.Problems, Verify: &agentv1.VerifyResult{Level: rep.Level, Files: rep.Files, Sections: rep.Sections,
		Items: rep.Items, Copies: rep.Copies, Blobs: rep.Blobs, BytesRead: rep.BytesRead, Problems: len(rep.Problems)}}
	if err != nil {
		return failed(res, fmt.Errorf("verify recovery point %q: %w", spec.RecoveryPoint, err))
	}
	j.progress(int64(rep.Items), rep.BytesRead, "verified")
	if len(rep.Problems) > 0 {
		logLines(j, slog.LevelError, "problem", rep.Problems)
		return outcome{state: agentv1.JobFailed, result: res,
			err: fmt.Sprintf("recovery point %q is damaged: %d problem(s): %s", spec.RecoveryPoint, len(rep.Problems), humanize.First(rep.Problems))}
	}
	j.log.Info("recovery point intact", "recoveryPoint", spec.RecoveryPoint, "files", rep.Files, "sections", rep.Sections, "items", rep.Items,
		"level", rep.Level, "copies", rep.Copies, "blobs", rep.Blobs, "bytesRead", rep.BytesRead)
	return outcome{state: agentv1.JobSucceeded, result: res}
}
