package store

import (
	"context"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/policy"
)

// InstanceStanding is an instance placed against its recovery point objective.
type InstanceStanding struct {
	Instance Instance
	RPO      policy.RPOStatus
}

// InstanceStandings places every instance of the vault against its objective at now (docs/design/
// monitoring.md): good is the phase of a good recovery point. An instance whose objective cannot
// be computed (its schedule has no run) is left out.
func (s *Store) InstanceStandings(ctx context.Context, vault, good string, now time.Time) ([]InstanceStanding, error) {
	instances, err := s.ListInstances(ctx, vault, InstanceFilter{})
	if err != nil {
		return nil, err
	}
	lastGood, err := s.LastGoodBackups(ctx, vault, good)
	if err != nil {
		return nil, err
	}
	policies := map[string]policy.Policy{}
	standings := policy.NewStandings(now)
	out := make([]InstanceStanding, 0, len(instances))
	for _, in := range instances {
		pol, ok := policies[in.Policy]
		if !ok {
			if pol, err = s.GetPolicy(ctx, vault, in.Policy); err != nil {
				return nil, fmt.Errorf("instance %q: %w", in.Name, err)
			}
			policies[in.Policy] = pol
		}
		var at *time.Time
		if t, ok := lastGood[in.Name]; ok {
			at = &t
		}
		st, err := standings.Of(pol, in.RPO, at, in.CreatedAt, in.State != InstanceProtected)
		if err != nil {
			continue
		}
		out = append(out, InstanceStanding{Instance: in, RPO: st})
	}
	return out, nil
}
