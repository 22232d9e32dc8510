package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestApprovalsAreDecidedOnceAndExpire(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		clk := withClock(st)
		a, err := st.CreateApproval(ctx, "prod", Approval{Operation: "DELETE /api/v1/instances/{name}", Method: "DELETE", Path: "/api/v1/instances/shop",
			RequestedBy: "alice", ExpiresAt: clk.t.Add(time.Hour)})
		if err != nil || a.ID == 0 || a.State != ApprovalPending || a.RequestedBy != "alice" {
			t.Fatalf("create: %+v %v", a, err)
		}
		if a, err = st.DecideApproval(ctx, "prod", a.ID, Decision{State: ApprovalApproved, By: "bob"}); err != nil || a.DecidedBy != "bob" || a.DecidedAt == nil {
			t.Fatalf("decide: %+v %v", a, err)
		}
		if _, err := st.DecideApproval(ctx, "prod", a.ID, Decision{State: ApprovalRejected, By: "carol"}); !errors.Is(err, ErrConflict) {
			t.Errorf("decided twice: %v", err)
		}
		if a, err = st.SetApprovalResult(ctx, "prod", a.ID, ApprovalApproved, 204, "done"); err != nil || a.ResultStatus != 204 {
			t.Fatalf("result: %+v %v", a, err)
		}
		late, err := st.CreateApproval(ctx, "prod", Approval{Operation: "x", Method: "POST", Path: "/x", RequestedBy: "alice", ExpiresAt: clk.t.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		clk.advance(2 * time.Hour)
		if got, err := st.GetApproval(ctx, "prod", late.ID); err != nil || got.State != ApprovalExpired {
			t.Errorf("after its expiry: %+v %v", got, err)
		}
		list, err := st.ListApprovals(ctx, "prod", ApprovalExpired, Page{})
		if err != nil || len(list.Items) != 1 || list.Items[0].ID != late.ID {
			t.Errorf("expired list %+v %v", list.Items, err)
		}
		if _, err := st.GetApproval(ctx, "dev", late.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another vault's request: %v", err)
		}
	})
}

// TestApprovalWhoseReplayWasCutShortFails: an approved request without the replay's outcome (the
// vault stopped in between) is failed after ReplayInterruptedAfter, saying what to check.
func TestApprovalWhoseReplayWasCutShortFails(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		clk := withClock(st)
		a, err := st.CreateApproval(ctx, "prod", Approval{Operation: "DELETE /api/v1/instances/{name}", Method: "DELETE", Path: "/api/v1/instances/shop",
			RequestedBy: "alice", ExpiresAt: clk.t.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.DecideApproval(ctx, "prod", a.ID, Decision{State: ApprovalApproved, By: "bob"}); err != nil {
			t.Fatal(err)
		}
		clk.advance(ReplayInterruptedAfter - time.Second)
		if got, err := st.GetApproval(ctx, "prod", a.ID); err != nil || got.State != ApprovalApproved {
			t.Fatalf("a replay under way: %+v %v", got, err)
		}
		clk.advance(2 * time.Second)
		got, err := st.GetApproval(ctx, "prod", a.ID)
		if err != nil || got.State != ApprovalFailed || !strings.Contains(got.ResultMessage, "the vault stopped while replaying this request") {
			t.Fatalf("a replay cut short: %+v %v", got, err)
		}
	})
}
