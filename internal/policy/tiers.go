package policy

import (
	"time"
)

// TierPoint is what tier retention looks at: a point, and which tiers it still holds.
type TierPoint struct {
	Point
	// Snapshots: the point still holds volume snapshots (none, or deleted by retention: false).
	Snapshots bool
	// Copies: the point holds copies of volumes in the repository's file store.
	Copies bool
}

// Action is what tier retention does with a point.
type Action string

// Tier retention's actions.
const (
	Keep Action = "keep"
	// DeleteSnapshots deletes the point's snapshots only; its files and copies stay.
	DeleteSnapshots Action = "delete-snapshots"
	// DeletePoint deletes the whole point: snapshots, copies, files.
	DeletePoint Action = "delete"
)

// TierDecision is tier retention's verdict on one point.
type TierDecision struct {
	ID     string
	Action Action
	// Snapshot is the snapshot tier's verdict (the whole point's when Copy is nil).
	Snapshot Decision
	// Copy is the copy tier's verdict; nil when the point holds no copy or the policy has no copy
	// tier.
	Copy *Decision
	// ExpiresAt is when the point's last tier lets it go (zero: kept indefinitely).
	ExpiresAt time.Time
	// Reason says why, the deciding tier's reason first.
	Reason string
}

// EvaluateTiers decides for every point at now, per tier (docs/design/vault.md, "The copy tier of
// a policy"): the snapshot tier by Retention over all points, the copy tier by Copy.Retention over
// the points that hold copies. A point goes whole when its snapshot tier expired and its copy tier
// expired or does not apply; only its snapshots go when the snapshot tier expired, the copy tier
// did not and it still holds snapshots. Decisions are in the order of points.
func (p Policy) EvaluateTiers(points []TierPoint, now time.Time, loc *time.Location) []TierDecision {
	plain := make([]Point, len(points))
	var copied []Point
	var copiedAt []int
	for i, tp := range points {
		plain[i] = tp.Point
		if p.Copy != nil && tp.Copies {
			copied = append(copied, tp.Point)
			copiedAt = append(copiedAt, i)
		}
	}
	out := make([]TierDecision, len(points))
	for i, d := range p.Retention.Evaluate(plain, now, loc) {
		out[i] = TierDecision{ID: d.ID, Snapshot: d, ExpiresAt: d.ExpiresAt, Reason: d.Reason}
		if d.Delete {
			out[i].Action = DeletePoint
		} else {
			out[i].Action = Keep
		}
	}
	if p.Copy == nil {
		return out
	}
	for k, d := range p.Copy.Retention.Evaluate(copied, now, loc) {
		i := copiedAt[k]
		cd := d
		t := &out[i]
		t.Copy = &cd
		t.ExpiresAt = later(t.Snapshot.ExpiresAt, cd.ExpiresAt)
		switch {
		case t.Snapshot.Delete && cd.Delete:
			t.Action, t.Reason = DeletePoint, "snapshots "+t.Snapshot.Reason+"; copies "+cd.Reason
		case t.Snapshot.Delete && points[i].Snapshots:
			t.Action, t.Reason = DeleteSnapshots, "snapshots "+t.Snapshot.Reason+"; copies "+cd.Reason
		default:
			t.Action, t.Reason = Keep, "copies "+cd.Reason+"; snapshots "+t.Snapshot.Reason
		}
	}
	return out
}

// later is the later of two expiries, zero (never) when either is zero.
func later(a, b time.Time) time.Time {
	if a.IsZero() || b.IsZero() {
		return time.Time{}
	}
	if a.After(b) {
		return a
	}
	return b
}
