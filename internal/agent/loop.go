package agent

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// claimLoop claims jobs while a slot is free, until ctx ends.
func (a *agent) claimLoop(ctx context.Context) {
	backoff := a.t.retryBase
	refused := false
	for {
		select {
		case a.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		began := time.Now()
		job, err := a.vault.claim(ctx)
		switch {
		case err == nil && job != nil:
			backoff, refused = a.t.retryBase, false
			a.jobs.Go(func() {
				defer func() { <-a.slots }()
				a.runJob(ctx, job)
			})
			continue
		case err == nil:
			backoff, refused = a.t.retryBase, false
			<-a.slots
			// The vault long-polls; one that answers at once must not be called in a tight loop.
			sleep(ctx, a.t.minClaimInterval-time.Since(began))
			continue
		}
		<-a.slots
		if ctx.Err() != nil {
			return
		}
		switch statusOf(err) {
		case http.StatusUnauthorized:
			if !refused {
				a.log.Error("the vault refused the agent token: the cluster's trust grant was revoked or the token is wrong; "+
					"re-register the cluster (cairn cluster register) and install the new token. Retrying slowly",
					"retryEvery", a.t.unauthorizedRetry, "error", err.Error())
			}
			refused = true
			sleep(ctx, a.t.unauthorizedRetry)
		default:
			a.log.Warn("cannot claim jobs from the vault; retrying", "in", backoff, "error", err.Error())
			sleep(ctx, backoff)
			backoff = min(2*backoff, a.t.retryMax)
		}
	}
}

// heartbeatLoop reports the agent's version and the cluster's every HeartbeatEvery until ctx ends.
// Failures are logged when they start and when they end, not at every beat.
func (a *agent) heartbeatLoop(ctx context.Context) {
	tick := time.NewTicker(a.opts.HeartbeatEvery)
	defer tick.Stop()
	var kubeVersion, failing string
	for {
		if v, err := a.kubeVersion(ctx); err == nil {
			kubeVersion = v
		} else if kubeVersion == "" && ctx.Err() == nil {
			a.log.Warn("cannot read the cluster's version for the heartbeat", "error", err.Error())
		}
		err := a.vault.heartbeat(ctx, wire.Heartbeat{AgentVersion: a.opts.Version, KubernetesVersion: kubeVersion})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && failing == "":
			failing = err.Error()
			a.log.Warn("heartbeat failed", "error", failing)
		case err == nil && failing != "":
			failing = ""
			a.log.Info("heartbeat accepted again")
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// versionReader reads the Kubernetes version of the cluster cfg points at (discovery), each call
// bounded by timeout.
func versionReader(cfg *rest.Config, timeout time.Duration) (func(context.Context) (string, error), error) {
	c := rest.CopyConfig(cfg)
	c.Timeout = timeout
	dc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("create a client of the cluster: %w", err)
	}
	return func(context.Context) (string, error) {
		v, err := dc.ServerVersion()
		if err != nil {
			return "", fmt.Errorf("read the cluster's version: %w", err)
		}
		return v.GitVersion, nil
	}, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
