package snapshot

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/internal/scope"
)

// Policy actions.
const (
	ActionSkip     = "skip"
	ActionSnapshot = "snapshot"
	// ActionFSBackup backs the volume up through its files (the data mover) instead of a snapshot.
	ActionFSBackup = "fs-backup"
)

// Policy decides per volume whether to snapshot it, skip it or back it up through its files
// (docs/design/volumes.md, "Volume policy").
type Policy struct {
	Rules []Rule `json:"volumePolicies"`
}

// Rule is one volume policy rule: when all its conditions match, its action decides.
type Rule struct {
	Conditions Conditions `json:"conditions"`
	Action     string     `json:"action"`
}

// Conditions of a rule; an empty condition matches every volume.
type Conditions struct {
	StorageClass []string          `json:"storageClass,omitempty"`
	Driver       []string          `json:"driver,omitempty"`
	Capacity     string            `json:"capacity,omitempty"`
	PVCLabels    map[string]string `json:"pvcLabels,omitempty"`

	min, max *resource.Quantity
}

// VolumeFacts are what a policy looks at.
type VolumeFacts struct {
	StorageClass  string
	Driver        string
	CapacityBytes int64
	Labels        map[string]string
}

// ParsePolicy reads a volume policy in YAML and checks it.
func ParsePolicy(data []byte) (*Policy, error) {
	var p Policy
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("volume policy: %w", err)
	}
	var errs []error
	for i := range p.Rules {
		r := &p.Rules[i]
		if r.Action != ActionSkip && r.Action != ActionSnapshot && r.Action != ActionFSBackup {
			errs = append(errs, fmt.Errorf("volume policy rule %d: action %q: use skip, snapshot or fs-backup", i+1, r.Action))
		}
		for _, g := range r.Conditions.StorageClass {
			if _, err := path.Match(g, ""); err != nil {
				errs = append(errs, fmt.Errorf("volume policy rule %d: storageClass pattern %q: %w", i+1, g, err))
			}
		}
		if err := r.Conditions.parseCapacity(); err != nil {
			errs = append(errs, fmt.Errorf("volume policy rule %d: %w", i+1, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &p, nil
}

func (c *Conditions) parseCapacity() error {
	if c.Capacity == "" {
		return nil
	}
	lo, hi, ok := strings.Cut(c.Capacity, ",")
	if !ok {
		return fmt.Errorf("capacity %q: use \"min,max\" with either side empty, e.g. \"0,10Gi\" or \"100Gi,\"", c.Capacity)
	}
	for _, side := range []struct {
		s   string
		dst **resource.Quantity
	}{{lo, &c.min}, {hi, &c.max}} {
		if s := strings.TrimSpace(side.s); s != "" {
			q, err := resource.ParseQuantity(s)
			if err != nil {
				return fmt.Errorf("capacity %q: %q is not a quantity like 10Gi", c.Capacity, s)
			}
			*side.dst = &q
		}
	}
	return nil
}

// Decide returns the action for a volume and the rule that decided it (1-based; 0: no rule
// matched, so the volume is snapshotted).
func (p *Policy) Decide(v VolumeFacts) (string, int) {
	if p == nil {
		return ActionSnapshot, 0
	}
	for i, r := range p.Rules {
		if r.Conditions.match(v) {
			return r.Action, i + 1
		}
	}
	return ActionSnapshot, 0
}

func (c Conditions) match(v VolumeFacts) bool {
	if len(c.StorageClass) > 0 && !scope.MatchAny(c.StorageClass, v.StorageClass) {
		return false
	}
	if len(c.Driver) > 0 && !scope.MatchAny(c.Driver, v.Driver) {
		return false
	}
	if c.min != nil && v.CapacityBytes < c.min.Value() {
		return false
	}
	if c.max != nil && v.CapacityBytes > c.max.Value() {
		return false
	}
	for k, want := range c.PVCLabels {
		if got, ok := v.Labels[k]; !ok || got != want {
			return false
		}
	}
	return true
}
