package jobs_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

func TestJobEndsRecordEvents(t *testing.T) {
	f := newFixture()
	failed := f.backup(t, shop, t0)
	f.claim(t, failed.ID)
	f.complete(t, failed.ID, agentv1.Completion{State: agentv1.JobFailed, Error: "open storage: 403\nforbidden"})
	partial := f.backup(t, shop, t0.Add(time.Hour))
	f.claim(t, partial.ID)
	f.complete(t, partial.ID, agentv1.Completion{State: agentv1.JobPartiallyFailed, Error: "2 volumes not snapshotted"})
	ok := f.backup(t, shop, t0.Add(2*time.Hour))
	f.claim(t, ok.ID)
	f.complete(t, ok.ID, agentv1.Completion{State: agentv1.JobSucceeded})
	verify := f.queue(t, jobs.NewJob{Kind: jobs.KindVerify, Instance: "shop", Cluster: "east", RecoveryPoint: "shop-1",
		Spec: agentv1.JobSpec{Verify: &agentv1.VerifyJob{RecoveryPoint: "shop-1"}}})
	f.claim(t, verify.ID)
	f.complete(t, verify.ID, agentv1.Completion{State: agentv1.JobFailed, Error: "1 problem"})

	got := f.st.eventsOf("prod")
	want := map[string]struct {
		typ     events.Type
		summary string
	}{
		jobKey(failed.ID):  {events.JobFailed, `backup job 1 of instance "shop" failed: open storage: 403 forbidden`},
		jobKey(partial.ID): {events.JobPartiallyFailed, `backup job 2 of instance "shop" partially-failed: 2 volumes not snapshotted`},
		jobKey(verify.ID):  {events.VerificationFailed, `verification of recovery point "shop-1" (job 4) failed: 1 problem`},
	}
	if len(got) != len(want) {
		t.Errorf("events %+v, want %d", got, len(want))
	}
	for key, w := range want {
		e := got[key]
		if e.Type != w.typ || e.Summary != w.summary || e.Instance != "shop" || e.Cluster != "east" || !e.At.Equal(t0) {
			t.Errorf("event %s: %+v, want %s %q", key, e, w.typ, w.summary)
		}
	}
}

// A backup whose agent dies is retried: only the attempt with no retry left makes an event.
func TestExpiredBackupNotifiesOnceWhenItsAttemptsRunOut(t *testing.T) {
	f := newFixture()
	j := f.backup(t, shop, t0)
	for attempt := 1; ; attempt++ {
		f.claim(t, j.ID)
		f.clk.advance(90 * time.Second)
		expired, err := f.ExpireLeases(t.Context())
		if err != nil || len(expired) != 1 {
			t.Fatalf("attempt %d: %+v %v", attempt, expired, err)
		}
		got := f.st.eventsOf("prod")
		if expired[0].Retry != 0 {
			if len(got) != 0 {
				t.Fatalf("attempt %d of %d, retried, made events %+v", attempt, jobs.MaxAttempts, got)
			}
			j = f.get(t, expired[0].Retry)
			continue
		}
		e := got[jobKey(j.ID)]
		if len(got) != 1 || e.Type != events.JobFailed || !strings.Contains(e.Summary, "lease expired") || e.Details[2].Value != strconv.Itoa(jobs.MaxAttempts) {
			t.Fatalf("last attempt: events %+v", got)
		}
		return
	}
}

func jobKey(id int64) string { return "job/" + strconv.FormatInt(id, 10) }
