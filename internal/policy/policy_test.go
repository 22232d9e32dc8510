package policy

import (
	"encoding/json"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zoneinfo
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPolicyJSONRoundTrip(t *testing.T) {
	const doc = `{"name":"nightly","schedule":{"dailyAt":"02:30","timeZone":"Europe/Berlin"},` +
		`"retention":{"default":"10d","daily":"30d","weekly":"12w","monthly":"1y","yearly":"5y","keepLast":3}}`
	var p Policy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	want := Policy{
		Name:     "nightly",
		Schedule: Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"},
		Retention: Retention{
			Default: Duration(10 * day), Daily: Duration(30 * day), Weekly: Duration(12 * week),
			Monthly: Duration(year), Yearly: Duration(5 * year), KeepLast: 3,
		},
	}
	if p != want {
		t.Fatalf("decoded %+v, want %+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != doc {
		t.Fatalf("encoded\n%s\nwant\n%s", out, doc)
	}
}

func TestPolicyJSONOmitsUnsetFields(t *testing.T) {
	out, err := json.Marshal(Policy{Name: "p", Schedule: Schedule{EveryHours: 4}, Retention: Retention{Default: Duration(7 * day)}})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"p","schedule":{"everyHours":4},"retention":{"default":"1w"}}`
	if string(out) != want {
		t.Fatalf("encoded %s, want %s", out, want)
	}
}

func TestPolicyJSONRejectsBadDuration(t *testing.T) {
	var p Policy
	err := json.Unmarshal([]byte(`{"name":"p","retention":{"default":"7x"}}`), &p)
	if err == nil || !contains(err.Error(), `duration "7x": unknown unit "x"`) {
		t.Fatalf("got %v", err)
	}
}
