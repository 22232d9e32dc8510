package humanize

import (
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 3 << 30: "3.0 GiB", 1 << 60: "1.0 EiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFirst(t *testing.T) {
	for _, tc := range []struct {
		list []string
		want string
	}{
		{nil, "(none recorded)"},
		{[]string{"disk full"}, "disk full"},
		{[]string{"disk full", "timeout", "denied"}, "disk full (and 2 more)"},
	} {
		if got := First(tc.list); got != tc.want {
			t.Errorf("First(%q) = %q, want %q", tc.list, got, tc.want)
		}
	}
}

func TestOrList(t *testing.T) {
	for _, tc := range []struct {
		choices []string
		want    string
	}{
		{nil, ""},
		{[]string{"skip"}, "skip"},
		{[]string{"data", "empty"}, "data or empty"},
		{[]string{"skip", "patch", "recreate"}, "skip, patch or recreate"},
	} {
		if got := OrList(tc.choices); got != tc.want {
			t.Errorf("OrList(%q) = %q, want %q", tc.choices, got, tc.want)
		}
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{45 * time.Second: "45s", 12 * time.Minute: "12m", 3*time.Hour + 20*time.Minute: "3h20m",
		3 * time.Hour: "3h", 52 * time.Hour: "2d4h", 48 * time.Hour: "2d"} {
		if got := Age(d); got != want {
			t.Errorf("Age(%s) = %q, want %q", d, got, want)
		}
	}
}
