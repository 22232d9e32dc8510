package policy

import (
	"strings"
	"testing"
	"time"
)

// tiered keeps snapshots 7 days and daily copies a year.
func tiered() Policy {
	return Policy{Name: "tiered", Schedule: Schedule{EveryHours: 4}, Retention: Retention{Default: Duration(7 * day)},
		Copy: &CopyTier{Daily: true, Retention: Retention{Default: Duration(365 * day)}}}
}

func TestEvaluateTiersOverAMovedClock(t *testing.T) {
	p := tiered()
	start := mustTime(t, "2025-01-01T00:00:00Z")
	var points []TierPoint
	var lastCopy time.Time
	n := 0
	deletedSnapshots, deletedPoints := 0, 0
	// Every 4 hours for 400 days a backup; retention runs after each.
	for now := start; now.Before(start.Add(400 * day)); now = now.Add(4 * time.Hour) {
		n++
		copies := p.Copy.Selects(now, n, lastCopy)
		if copies {
			lastCopy = now
		}
		points = append(points, TierPoint{Point: Point{ID: now.Format(time.RFC3339), CompletedAt: now, Successful: true},
			Snapshots: true, Copies: copies})
		kept := points[:0]
		for i, d := range p.EvaluateTiers(points, now, time.UTC) {
			if d.ID != points[i].ID {
				t.Fatalf("decision %d is for %s, want %s", i, d.ID, points[i].ID)
			}
			switch d.Action {
			case DeletePoint:
				deletedPoints++
				continue
			case DeleteSnapshots:
				if !points[i].Copies || !points[i].Snapshots {
					t.Fatalf("%s: snapshots deleted of a point with copies %v, snapshots %v", d.ID, points[i].Copies, points[i].Snapshots)
				}
				deletedSnapshots++
				points[i].Snapshots = false
			}
			kept = append(kept, points[i])
		}
		points = kept
	}
	now := start.Add(400*day - 4*time.Hour)
	var withSnapshots, copyOnly int
	for _, pt := range points {
		age := now.Sub(pt.CompletedAt)
		switch {
		case pt.Snapshots:
			withSnapshots++
			if age >= 7*day {
				t.Errorf("%s: snapshots kept at age %s", pt.ID, age)
			}
		case pt.Copies:
			copyOnly++
			if age < 7*day || age >= 365*day {
				t.Errorf("%s: copy-only at age %s", pt.ID, age)
			}
		default:
			t.Errorf("%s: kept with neither tier", pt.ID)
		}
	}
	// 7 days of 6 backups a day keep their snapshots; one copy a day for the 358 days before.
	if withSnapshots != 42 || copyOnly != 358 {
		t.Errorf("%d points with snapshots, %d with copies alone; want 42 and 358", withSnapshots, copyOnly)
	}
	// Each day's first backup lost its snapshots once, 365-7 days+ ago; the others went whole.
	if deletedSnapshots != 393 || deletedPoints != 2400-42-358 {
		t.Errorf("%d snapshot deletions, %d point deletions; want 393 and %d", deletedSnapshots, deletedPoints, 2400-42-358)
	}
}

func TestEvaluateTiersDecisions(t *testing.T) {
	p := tiered()
	now := mustTime(t, "2026-03-01T00:00:00Z")
	old := now.Add(-10 * day)
	ancient := now.Add(-400 * day)
	pts := []TierPoint{
		{Point: Point{ID: "fresh", CompletedAt: now.Add(-time.Hour), Successful: true}, Snapshots: true, Copies: true},
		{Point: Point{ID: "old-copy", CompletedAt: old, Successful: true}, Snapshots: true, Copies: true},
		{Point: Point{ID: "old-copy-done", CompletedAt: old.Add(-time.Hour), Successful: true}, Copies: true},
		{Point: Point{ID: "old-snapshot", CompletedAt: old.Add(-2 * time.Hour), Successful: true}, Snapshots: true},
		{Point: Point{ID: "ancient-copy", CompletedAt: ancient, Successful: true}, Copies: true},
	}
	got := p.EvaluateTiers(pts, now, nil)
	want := map[string]Action{"fresh": Keep, "old-copy": DeleteSnapshots, "old-copy-done": Keep, "old-snapshot": DeletePoint,
		"ancient-copy": DeletePoint}
	for _, d := range got {
		if d.Action != want[d.ID] {
			t.Errorf("%s: %s (%s), want %s", d.ID, d.Action, d.Reason, want[d.ID])
		}
	}
	if d := got[1]; d.Copy == nil || !d.ExpiresAt.Equal(old.Add(365*day)) || !strings.HasPrefix(d.Reason, "snapshots expired: default 1w; copies kept") {
		t.Errorf("old-copy: %+v", d)
	}
	if d := got[3]; d.Copy != nil || !d.ExpiresAt.Equal(old.Add(-2*time.Hour+7*day)) {
		t.Errorf("old-snapshot: %+v", d)
	}
	// Without a copy tier, points with copies are judged by retention alone.
	p.Copy = nil
	for _, d := range p.EvaluateTiers(pts, now, nil) {
		if w := map[bool]Action{true: Keep, false: DeletePoint}[d.ID == "fresh"]; d.Action != w || d.Copy != nil {
			t.Errorf("no copy tier: %s: %s, want %s", d.ID, d.Action, w)
		}
	}
}
