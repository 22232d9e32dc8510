package usecase

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/restore"
)

func TestConflictMessage(t *testing.T) {
	items := func(actions ...string) *restore.Result {
		r := &restore.Result{}
		for i, a := range actions {
			reason := ""
			if a == restore.ActionSkip {
				reason = "already exists (conflict policy skip)"
			}
			r.Items = append(r.Items, restore.ItemResult{Resource: "configmaps", Namespace: "shop", Name: fmt.Sprint(i), Action: a, Reason: reason})
		}
		r.Counts = countsOf(r.Items)
		return r
	}
	ownedPod := restore.ItemResult{Resource: "pods", Name: "p", Action: restore.ActionSkip, Reason: "its owner ReplicaSet/x recreates it"}
	for _, tc := range []struct {
		name   string
		dry    *restore.Result
		policy string
		ok     bool
		want   string
	}{
		{"no conflicts", items("create", "create"), "skip", true, "none of the 2 objects to restore exists"},
		{"some skipped", items("create", "skip"), "skip", true, "1 of 2 objects to restore already exist in the cluster; conflict policy skip leaves them"},
		{"all skipped", items("skip", "skip"), "skip", false, "nothing would be restored"},
		{"patch", items("patch", "unchanged", "create"), "patch", true, "brings 1 of them back to the backed-up state and leaves 1 unchanged"},
		{"recreate", items("recreate"), "recreate", true, "conflict policy recreate deletes and creates 1"},
		{"failures", items("create", "fail"), "skip", true, "1 would fail (first: configmaps shop/1: )"},
		{"other skips ignored", withItems(append(items("create").Items, ownedPod)), "skip", true, "none of the 1 objects"},
		{"plain creates left out of a large dry run", &restore.Result{Counts: restore.Counts{Created: 20000, Skipped: 1}, Items: []restore.ItemResult{ownedPod}},
			"skip", true, "none of the 20000 objects"},
	} {
		msg, ok := conflictMessage(tc.dry, tc.policy)
		if ok != tc.ok || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, %v; want %v and %q", tc.name, msg, ok, tc.ok, tc.want)
		}
	}
}

func withItems(items []restore.ItemResult) *restore.Result {
	return &restore.Result{Items: items, Counts: countsOf(items)}
}

// countsOf counts items by action, as the restore engine does.
func countsOf(items []restore.ItemResult) restore.Counts {
	var c restore.Counts
	for _, it := range items {
		switch it.Action {
		case restore.ActionCreate:
			c.Created++
		case restore.ActionPatch:
			c.Patched++
		case restore.ActionRecreate:
			c.Recreated++
		case restore.ActionUnchanged:
			c.Unchanged++
		case restore.ActionSkip:
			c.Skipped++
		case restore.ActionFail:
			c.Failed++
		}
	}
	return c
}
