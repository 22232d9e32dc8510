package agent

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
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
		if peer, heard := a.vault.Vault(); heard && peer.Protocol < agentv1.MinProtocol {
			<-a.slots
			if !refused {
				a.log.Error("the vault speaks an agent protocol this agent no longer speaks: upgrade the vault. Claiming nothing; retrying slowly",
					"vaultProtocol", peer.Protocol, "minProtocol", agentv1.MinProtocol, "retryEvery", a.t.unauthorizedRetry)
			}
			refused = true
			sleep(ctx, a.t.unauthorizedRetry) // heartbeats keep learning the vault's protocol meanwhile
			continue
		}
		began := time.Now()
		job, err := a.vault.Claim(ctx)
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
		switch {
		case client.CodeOf(err) == agentv1.CodeUnsupportedProtocol:
			if !refused {
				a.log.Error("the vault does not speak this agent's protocol: upgrade the agent or the vault to releases at most one apart. Retrying slowly",
					"protocol", agentv1.Protocol, "retryEvery", a.t.unauthorizedRetry, "error", err.Error())
			}
			refused = true
			sleep(ctx, a.t.unauthorizedRetry)
		case client.StatusOf(err) == http.StatusUnauthorized:
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

// heartbeatLoop reports the agent's version, the cluster's and its namespaces every
// HeartbeatEvery until ctx ends. Failures are logged when they start and when they end, not at
// every beat. Namespaces never hold a heartbeat back: when they cannot be listed, or the vault
// refuses them, the heartbeat goes without.
func (a *agent) heartbeatLoop(ctx context.Context) {
	tick := time.NewTicker(a.opts.HeartbeatEvery)
	defer tick.Stop()
	var kubeVersion, failing, listFailing string
	refused := false
	for {
		var namespaces []string
		v, err := a.cluster.version(ctx)
		switch {
		case err == nil:
			kubeVersion = v
			// Only when the API server answers: one that hangs must not delay the heartbeat twice.
			if a.vaultTakesNamespaces() {
				namespaces, listFailing = a.listNamespaces(ctx, listFailing)
			}
		case kubeVersion == "" && ctx.Err() == nil:
			a.log.Warn("cannot read the cluster's version for the heartbeat", "error", err.Error())
		}
		hb := agentv1.Heartbeat{AgentVersion: a.opts.Version, KubernetesVersion: kubeVersion, Namespaces: namespaces}
		err = a.vault.Heartbeat(ctx, hb)
		if hb.Namespaces != nil && refusesNamespaces(err) {
			if !refused {
				a.log.Warn("the vault refused the cluster's namespaces (is it older than the agent?); heartbeats go without them",
					"namespaces", len(hb.Namespaces), "error", err.Error())
			}
			refused = true
			hb.Namespaces = nil
			err = a.vault.Heartbeat(ctx, hb)
		} else if err == nil {
			refused = false
		}
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

// vaultTakesNamespaces tells whether heartbeats carry the cluster's namespaces: the vault
// announced that it takes them, or it announced nothing (the release before announcements took
// them; one older still refuses them, and refusesNamespaces sends the heartbeat again without).
func (a *agent) vaultTakesNamespaces() bool {
	peer, heard := a.vault.Vault()
	return !heard || !peer.Announced || peer.Has(agentv1.CapHeartbeatNamespaces)
}

// minNamespaceList is the least time a namespace list gets: a short heartbeat interval must not
// cut off an API server that answers, only slowly.
const minNamespaceList = time.Second

// listNamespaces lists the cluster's namespaces for a heartbeat, within one heartbeat interval
// (at least minNamespaceList); nil when it cannot. failing is the error of the previous list ("" if it succeeded): a failure
// is logged when it starts and when it ends. It returns the names and this list's error.
func (a *agent) listNamespaces(ctx context.Context, failing string) ([]string, string) {
	listCtx, cancel := context.WithTimeout(ctx, max(a.opts.HeartbeatEvery, minNamespaceList))
	defer cancel()
	names, err := a.cluster.namespaces(listCtx)
	switch {
	case err != nil && failing == "" && ctx.Err() == nil:
		a.log.Warn("cannot list the cluster's namespaces; heartbeats go without them", "error", err.Error())
	case err == nil && failing != "":
		a.log.Info("the cluster's namespaces are listed again")
	}
	if err != nil {
		return nil, err.Error()
	}
	return names, ""
}

// refusesNamespaces tells whether the vault refused a heartbeat for its content, which a
// heartbeat without namespaces avoids: an unknown field (a vault older than the field), a body
// too large, or a name it does not take.
func refusesNamespaces(err error) bool {
	switch client.StatusOf(err) {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// clusterReader reads what heartbeats report of the agent's own cluster.
type clusterReader struct {
	client kubernetes.Interface
}

// newClusterReader reads the cluster cfg points at, each call bounded by timeout.
func newClusterReader(cfg *rest.Config, timeout time.Duration) (*clusterReader, error) {
	c := rest.CopyConfig(cfg)
	c.Timeout = timeout
	client, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("create a client of the cluster: %w", err)
	}
	return &clusterReader{client: client}, nil
}

// version reads the cluster's Kubernetes version (discovery).
func (r *clusterReader) version(context.Context) (string, error) {
	v, err := r.client.Discovery().ServerVersion()
	if err != nil {
		return "", fmt.Errorf("read the cluster's version: %w", err)
	}
	return v.GitVersion, nil
}

// namespaces lists the names of the cluster's namespaces, sorted. One list per heartbeat, served
// from the API server's cache (resourceVersion 0) rather than read from etcd.
func (r *clusterReader) namespaces(ctx context.Context) ([]string, error) {
	list, err := r.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, fmt.Errorf("list the cluster's namespaces: %w", err)
	}
	names := make([]string, 0, len(list.Items))
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	slices.Sort(names)
	return names, nil
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
