package api

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

func TestJobCountsAndJobsSince(t *testing.T) {
	f := newFixture(t)
	f.agentJob(t)
	reader := f.tokens[access.RoleReader]

	rec := f.do(t, "GET", "/api/v1/job-counts", reader, "")
	var counts vaultv1.JobCounts
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &counts) != nil {
		t.Fatalf("job-counts: %d %s", rec.Code, rec.Body)
	}
	if !counts.Since.Equal(fixedClock().Add(-24*time.Hour)) || counts.States[vaultv1.JobQueued] != 1 {
		t.Fatalf("default window: %+v", counts)
	}
	later := fixedClock().Add(time.Minute).Format(time.RFC3339)
	rec = f.do(t, "GET", "/api/v1/job-counts?since="+later, reader, "")
	counts = vaultv1.JobCounts{}
	if json.Unmarshal(rec.Body.Bytes(), &counts) != nil || len(counts.States) != 0 {
		t.Fatalf("after the job: %s", rec.Body)
	}
	rec = f.do(t, "GET", "/api/v1/jobs?since="+later, reader, "")
	var jobs vaultv1.List[vaultv1.Job]
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &jobs) != nil || len(jobs.Items) != 0 {
		t.Fatalf("jobs since after the job: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/api/v1/job-counts?since=yesterday", "/api/v1/jobs?since=2026-13-01"} {
		rec = f.do(t, "GET", path, reader, "")
		if e := decodeErrorBody(t, rec); rec.Code != http.StatusBadRequest || e.Field != "since" {
			t.Fatalf("%s: %d %+v", path, rec.Code, e)
		}
	}
}
