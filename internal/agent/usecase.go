package agent

import (
	"context"

	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/usecase"
)

// useCases runs a job's backup or restore in the agent's cluster, on the agent's clock, logging to
// the job's log.
func (a *agent) useCases(j *jobRun) *usecase.Runner {
	return &usecase.Runner{Config: a.opts.Config, Now: a.now, Logger: j.log, Engines: usecase.Engines{
		// The heartbeat's reader, whose calls are bounded.
		KubernetesVersion: func(ctx context.Context, _ *rest.Config) (string, error) { return a.cluster.version(ctx) },
	}}
}

// progressOf reports a use case's progress as the job's: the stage, or the resource type at hand
// once there is one (marked as the pre-flight dry run's during it).
func progressOf(j *jobRun) func(usecase.Progress) {
	return func(p usecase.Progress) {
		msg := p.Stage
		switch {
		case p.Resource == "":
		case p.Stage == usecase.StageConflicts:
			msg = "dry run: " + p.Resource
		default:
			msg = p.Resource
		}
		j.stageProgress(p.Stage, p.Items, p.Bytes, msg)
	}
}
