package store

import (
	"strings"
	"testing"
)

// TestSQLitePlansUseTheirIndexes: the queries every scheduler tick and metrics scrape make over
// the open jobs search an index in SQLite instead of walking the table, which holds every job the
// vaults ever ran (without statistics SQLite can prefer a walk in the order asked for to a sort,
// and it uses a partial index only where the query repeats the index's condition).
func TestSQLitePlansUseTheirIndexes(t *testing.T) {
	st, err := OpenSQLite(t.Context(), t.TempDir(), fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct {
		name, query, index string
		args               []any
	}{
		{"expired leases", expiredLeasesQuery, "jobs_running_by_lease", []any{fixedClock()}},
		{"oldest queued (metrics)", oldestQueuedQuery, "jobs_open_by_instance", []any{"prod"}},
	} {
		rows, err := st.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "; ")
		if !strings.Contains(text, "USING INDEX "+c.index) || strings.Contains(text, "SCAN jobs") {
			t.Errorf("%s: plan %q, want a search of index %s", c.name, text, c.index)
		}
	}
}
