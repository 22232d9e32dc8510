package agent

import (
	"context"
	"io"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/agent/metrics"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// meteredVault is the vault's client counting every call by its result, and the time of the
// last heartbeat the vault accepted (package metrics). Calls cut short because the agent stops
// are not counted.
type meteredVault struct {
	*client.Agent
	m   *metrics.Metrics
	now func() time.Time
}

func (v *meteredVault) Heartbeat(ctx context.Context, hb agentv1.Heartbeat) error {
	err := v.Agent.Heartbeat(ctx, hb)
	v.count(ctx, metrics.CallHeartbeat, err)
	if err == nil {
		v.m.HeartbeatAccepted(v.now())
	}
	return err
}

func (v *meteredVault) Claim(ctx context.Context) (*agentv1.Job, error) {
	job, err := v.Agent.Claim(ctx)
	v.count(ctx, metrics.CallClaim, err)
	return job, err
}

func (v *meteredVault) Progress(ctx context.Context, id int64, rep agentv1.ProgressReport) (agentv1.ProgressReply, error) {
	reply, err := v.Agent.Progress(ctx, id, rep)
	v.count(ctx, metrics.CallProgress, err)
	return reply, err
}

func (v *meteredVault) Complete(ctx context.Context, id int64, comp agentv1.Completion) error {
	err := v.Agent.Complete(ctx, id, comp)
	v.count(ctx, metrics.CallComplete, err)
	return err
}

func (v *meteredVault) UploadContent(ctx context.Context, id, size int64, r io.Reader) error {
	err := v.Agent.UploadContent(ctx, id, size, r)
	v.count(ctx, metrics.CallUpload, err)
	return err
}

func (v *meteredVault) count(ctx context.Context, call string, err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	v.m.VaultCall(call, err)
}
