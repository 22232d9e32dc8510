package events

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	if got, err := Parse("rpo-breached"); err != nil || got != RPOBreached {
		t.Errorf("rpo-breached: %q, %v", got, err)
	}
	for _, bad := range []string{"test", "job-done", ""} {
		if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "use one of job-failed, job-partially-failed, rpo-breached") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSummariseKeepsOneLineOfBoundedLength(t *testing.T) {
	if got := Summarise("open storage:\n  403\tforbidden "); got != "open storage: 403 forbidden" {
		t.Errorf("one line: %q", got)
	}
	long := strings.Repeat("é", maxSummary)
	got := Summarise(long)
	if len(got) > maxSummary || !utf8.ValidString(got) || !strings.HasSuffix(got, "...") {
		t.Errorf("cut: %d bytes, valid %v, %q", len(got), utf8.ValidString(got), got[len(got)-8:])
	}
}
