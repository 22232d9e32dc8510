package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// watch records, for every vault, the events no job's end records: each instance that breached
// its recovery point objective (once a breach: the key holds when it began) and each cluster
// whose agent stopped reporting (once per silence: the key holds its last report).
func (n *Notifier) watch(ctx context.Context) error {
	vaults, err := n.st.Vaults(ctx)
	if err != nil {
		return err
	}
	now := n.now()
	var errs []error
	for _, v := range vaults {
		if err := n.watchInstances(ctx, v, now); err != nil {
			errs = append(errs, fmt.Errorf("vault %q: %w", v, err))
		}
		if err := n.watchAgents(ctx, v); err != nil {
			errs = append(errs, fmt.Errorf("vault %q: %w", v, err))
		}
	}
	return errors.Join(errs...)
}

func (n *Notifier) watchInstances(ctx context.Context, vault string, now time.Time) error {
	standings, err := n.st.InstanceStandings(ctx, vault, archive.PhaseCompleted, now)
	if err != nil {
		return err
	}
	for _, s := range standings {
		if s.RPO.State != policy.RPOBreached {
			continue
		}
		if _, err := n.st.RecordEvent(ctx, breachEvent(vault, s)); err != nil {
			return err
		}
	}
	return nil
}

// breachEvent is the event of instance standing s's breach.
func breachEvent(vault string, s store.InstanceStanding) events.Event {
	in, rpo := s.Instance, s.RPO
	objective := policy.Duration(rpo.Objective).String()
	summary := fmt.Sprintf("instance %q has had no good recovery point since it was protected at %s: its objective is %s",
		in.Name, in.CreatedAt.UTC().Format(time.RFC3339), objective)
	details := []events.Detail{{Name: "objective", Value: objective}}
	if rpo.LastGood != nil {
		summary = fmt.Sprintf("instance %q: its newest good recovery point, of %s, is older than its objective %s",
			in.Name, rpo.LastGood.UTC().Format(time.RFC3339), objective)
		details = append(details, events.Detail{Name: "lastGoodAt", Value: rpo.LastGood.UTC().Format(time.RFC3339)})
	}
	return events.Event{Vault: vault, Type: events.RPOBreached, Key: "rpo-breached/" + in.Name + "/" + strconv.FormatInt(rpo.BreachedSince.Unix(), 10),
		At: rpo.BreachedSince.UTC(), Instance: in.Name, Cluster: in.Cluster, Summary: events.Summarise(summary), Details: details}
}

func (n *Notifier) watchAgents(ctx context.Context, vault string) error {
	clusters, err := n.st.ListClusters(ctx, vault)
	if err != nil {
		return err
	}
	for _, c := range clusters {
		if c.Health != store.HealthUnhealthy || c.LastHeartbeat == nil {
			continue
		}
		last := c.LastHeartbeat.UTC()
		e := events.Event{Vault: vault, Type: events.AgentUnhealthy, Key: "agent-unhealthy/" + c.Name + "/" + strconv.FormatInt(last.UnixNano(), 10),
			At: last.Add(store.UnhealthyAfter), Cluster: c.Name,
			Summary: events.Summarise(fmt.Sprintf("the agent of cluster %q has not reported since %s: its jobs wait, its scheduled backups do not run",
				c.Name, last.Format(time.RFC3339))),
			Details: []events.Detail{{Name: "lastHeartbeat", Value: last.Format(time.RFC3339)}}}
		if _, err := n.st.RecordEvent(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
