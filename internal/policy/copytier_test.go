package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
)

func TestCopyTierJSON(t *testing.T) {
	const doc = `{"name":"tiered","schedule":{"everyHours":4},"retention":{"default":"1w"},` +
		`"copy":{"daily":true,"retention":{"default":"365d","monthly":"3y"}}}`
	var p Policy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	if p.Copy == nil || !p.Copy.Daily || p.Copy.Every != 0 || p.Copy.Retention.Default != Duration(year) || p.Copy.Retention.Monthly != Duration(3*year) {
		t.Fatalf("decoded copy tier %+v", p.Copy)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"tiered","schedule":{"everyHours":4},"retention":{"default":"1w"},` +
		`"copy":{"daily":true,"retention":{"default":"1y","monthly":"3y"}}}`
	if string(out) != want {
		t.Fatalf("encoded\n%s\nwant\n%s", out, want)
	}
}

func TestCopyTierValidate(t *testing.T) {
	base := func() Policy {
		return Policy{Name: "p", Schedule: Schedule{EveryHours: 4}, Retention: Retention{Default: Duration(7 * day)},
			Copy: &CopyTier{Every: 6, Retention: Retention{Default: Duration(year)}}}
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("valid policy: %v", err)
	}
	for _, tc := range []struct {
		name   string
		modify func(*CopyTier)
		want   string
	}{
		{"neither", func(c *CopyTier) { c.Every = 0 }, "copy: say which backups copy: every: N"},
		{"both", func(c *CopyTier) { c.Daily = true }, "copy: give either every or daily, not both"},
		{"negative", func(c *CopyTier) { c.Every = -2 }, "copy.every -2: give 1 to copy every scheduled backup"},
		{"no retention", func(c *CopyTier) { c.Retention = Retention{} }, `copy.retention.default: required (e.g. "7d")`},
		{"shorter than copies' interval", func(c *CopyTier) { c.Retention.Default = Duration(20 * time.Hour) },
			"copy.retention.default 20h is shorter than the time between copies 1d"},
		{"daily shorter than a day", func(c *CopyTier) { c.Every, c.Daily, c.Retention.Default = 0, true, Duration(12*time.Hour) },
			"copy.retention.default 12h is shorter than the time between copies 1d"},
		{"rule shorter than default", func(c *CopyTier) { c.Retention.Monthly = Duration(30 * day) },
			"copy.retention.monthly 30d is shorter than copy.retention.default 1y"},
		{"keepLast", func(c *CopyTier) { c.Retention.KeepLast = -1 }, "copy.retention.keepLast -1: must be 0 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.modify(p.Copy)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCopyTierSelects(t *testing.T) {
	at := mustTime(t, "2026-03-01T23:00:00Z")
	every3 := CopyTier{Every: 3}
	var got []int
	for n := 1; n <= 10; n++ {
		if every3.Selects(at, n, time.Time{}) {
			got = append(got, n)
		}
	}
	if want := []int{1, 4, 7, 10}; !equalInts(got, want) {
		t.Errorf("every 3 copies backups %v, want %v", got, want)
	}
	daily := CopyTier{Daily: true}
	for _, tc := range []struct {
		at, last string
		want     bool
	}{
		{"2026-03-01T23:00:00Z", "", true},
		{"2026-03-01T23:00:00Z", "2026-03-01T00:00:00Z", false},
		{"2026-03-02T00:00:00Z", "2026-03-01T23:00:00Z", true},
		// UTC days, whatever the zone of the times.
		{"2026-03-02T00:30:00+01:00", "2026-03-01T22:00:00Z", false},
	} {
		var last time.Time
		if tc.last != "" {
			last = mustTime(t, tc.last)
		}
		if got := daily.Selects(mustTime(t, tc.at), 5, last); got != tc.want {
			t.Errorf("daily at %s after %q: %v, want %v", tc.at, tc.last, got, tc.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestVolumeData(t *testing.T) {
	tier := &CopyTier{Daily: true}
	for _, tc := range []struct {
		tier     *CopyTier
		instance string
		selected bool
		want     string
	}{
		{nil, archive.VolumeDataCopy, false, archive.VolumeDataCopy},
		{nil, "", true, ""},
		{tier, archive.VolumeDataSnapshot, true, archive.VolumeDataSnapshotAndCopy},
		{tier, "", true, archive.VolumeDataSnapshotAndCopy},
		{tier, archive.VolumeDataCopy, true, archive.VolumeDataCopy},
		{tier, archive.VolumeDataCopy, false, archive.VolumeDataSnapshot},
		{tier, archive.VolumeDataSnapshotAndCopy, false, archive.VolumeDataSnapshot},
	} {
		if got := VolumeData(tc.tier, tc.instance, tc.selected); got != tc.want {
			t.Errorf("VolumeData(%v, %q, %v) = %q, want %q", tc.tier != nil, tc.instance, tc.selected, got, tc.want)
		}
	}
}

func TestCopyTierDescribe(t *testing.T) {
	for _, tc := range []struct {
		c    CopyTier
		want string
	}{
		{CopyTier{Daily: true, Retention: Retention{Default: Duration(year)}}, "copy daily (UTC), keep 1y"},
		{CopyTier{Every: 1, Retention: Retention{Default: Duration(30 * day)}}, "copy every backup, keep 30d"},
		{CopyTier{Every: 6, Retention: Retention{Default: Duration(30 * day), Monthly: Duration(year)}}, "copy every 6 backups, keep 30d, monthly 1y"},
	} {
		if got := tc.c.Describe(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
