package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

// TestRecoveryPointObjective: every instance's standing against its objective follows from its
// policy (every 4 hours in Berlin: 6h by default, the longest gap being 5 hours when the clocks go
// back in October), its newest good recovery point and the clock; an
// instance's override is validated against the schedule and shown.
func TestRecoveryPointObjective(t *testing.T) {
	f := newFixture(t)
	f.recoveryPoint(t, "shop") // a good point at fixedClock
	f.instance(t, "idle")      // none
	at := func(d time.Duration) map[string]vaultv1.Instance {
		t.Helper()
		srv := NewServer(f.st, Config{Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return fixedClock().Add(d) }, Lease: testLease})
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, newRequest(t, http.MethodGet, "/api/v1/instances", f.tokens[access.RoleReader], ""))
		if rec.Code != http.StatusOK {
			t.Fatalf("list instances: %d %s", rec.Code, rec.Body)
		}
		var list vaultv1.List[vaultv1.Instance]
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
			t.Fatal(err)
		}
		out := map[string]vaultv1.Instance{}
		for _, in := range list.Items {
			out[in.Name] = in
		}
		return out
	}
	want := func(in vaultv1.Instance, state string, since time.Duration) {
		t.Helper()
		st := in.RPOStatus
		if st == nil || st.State != state || st.Objective != "6h" || st.BreachedSince == nil || !st.BreachedSince.Equal(fixedClock().Add(since)) {
			t.Errorf("%s: rpo status %+v; want %s, objective 6h, breached since +%s", in.Name, st, state, since)
		}
	}
	now := at(time.Hour)
	want(now["shop"], "met", 6*time.Hour)
	if lg := now["shop"].RPOStatus.LastGoodAt; lg == nil || !lg.Equal(fixedClock()) {
		t.Errorf("shop: last good %v, want %s", lg, fixedClock())
	}
	want(now["idle"], "pending", 6*time.Hour)
	later := at(7 * time.Hour)
	want(later["shop"], "breached", 6*time.Hour)
	want(later["idle"], "breached", 6*time.Hour)

	token := f.tokens[access.RoleContributor]
	f.cluster(t, "c-tight")
	f.createPolicy(t, "prod", "p-tight")
	spec := instanceSpec("tight")
	spec.RPO = "1h"
	rec := f.do(t, http.MethodPost, "/api/v1/instances", token, mustJSON(spec))
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "rpo 1h is shorter than the schedule's interval 4h") {
		t.Fatalf("an objective under the interval: %d %s", rec.Code, rec.Body)
	}
	spec.RPO = "12h"
	rec = f.do(t, http.MethodPost, "/api/v1/instances", token, mustJSON(spec))
	var in vaultv1.Instance
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &in) != nil || in.RPO != "12h" ||
		in.RPOStatus == nil || in.RPOStatus.Objective != "12h" || in.RPOStatus.State != "pending" {
		t.Fatalf("an instance with its own objective: %d %s", rec.Code, rec.Body)
	}
}
