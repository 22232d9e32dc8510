package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		out  string // String() of the result
	}{
		{"7d", 7 * day, "1w"}, // 7d and 1w are equally short; the larger unit wins, as for 168h
		{"4w", 4 * week, "4w"},
		{"1y", year, "1y"},
		{"36h", 36 * time.Hour, "36h"},
		{"90m", 90 * time.Minute, "90m"},
		{"45s", 45 * time.Second, "45s"},
		{"168h", week, "1w"},
		{"24h", day, "1d"},
		{"14d", 2 * week, "2w"},
		{"365d", year, "1y"},
		{"400d", 400 * day, "400d"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"1h30m", 90 * time.Minute, "90m"},
		{"1.5d", 36 * time.Hour, "36h"},
		{"0", 0, "0s"},
		{"0s", 0, "0s"},
		{"1500ms", 1500 * time.Millisecond, "1.5s"},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil {
			t.Errorf("ParseDuration(%q): %v", tc.in, err)
			continue
		}
		if time.Duration(got) != tc.want || got.String() != tc.out {
			t.Errorf("ParseDuration(%q) = %v (%q), want %v (%q)", tc.in, time.Duration(got), got, tc.want, tc.out)
		}
		if back, err := ParseDuration(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q via %q: %v, %v", tc.in, got, time.Duration(back), err)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"7x", `duration "7x": unknown unit "x"`},
		{"-1d", `duration "-1d": must not be negative`},
		{"", `duration "": empty`},
		{"7", `duration "7": use a number and a unit`},
		{"d", `duration "d": use a number and a unit`},
		{"1..5h", `duration "1..5h": use a number and a unit`},
		{".d", `duration ".d": use a number and a unit`},
		{"99999999999999999999h", `duration "99999999999999999999h": too large`},
		{"200y200y", `duration "200y200y": too large`},
		{"300y", `duration "300y": too large`},
	} {
		_, err := ParseDuration(tc.in)
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("ParseDuration(%q) error = %v, want it to contain %q", tc.in, err, tc.want)
			continue
		}
		if !contains(err.Error(), `"7d", "4w", "1y", "36h" or "90m"`) && !strings.Contains(tc.want, "too large") {
			t.Errorf("ParseDuration(%q) error %q shows no examples", tc.in, err)
		}
	}
}

func TestDurationStringNegative(t *testing.T) {
	if got := Duration(-3 * day).String(); got != "-3d" {
		t.Fatalf("got %q", got)
	}
}

func TestDurationJSON(t *testing.T) {
	for _, s := range []string{"3d", "4w", "1y", "36h", "90m"} {
		var d Duration
		if err := json.Unmarshal([]byte(`"`+s+`"`), &d); err != nil {
			t.Fatalf("unmarshal %q: %v", s, err)
		}
		out, err := json.Marshal(d)
		if err != nil || string(out) != `"`+s+`"` {
			t.Errorf("marshal %q: %s, %v", s, out, err)
		}
	}
	d := Duration(time.Hour)
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || d != Duration(time.Hour) {
		t.Errorf("null: %v, %v", d, err)
	}
	if err := json.Unmarshal([]byte(`604800`), &d); err == nil || !contains(err.Error(), "must be a string") {
		t.Errorf("number: %v", err)
	}
}

func TestOptionalDuration(t *testing.T) {
	for _, d := range []Duration{0, Duration(26 * time.Hour)} {
		back, err := ParseOptionalDuration(d.Optional())
		if err != nil || back != d {
			t.Errorf("%q read back as %s, %v", d.Optional(), back, err)
		}
	}
	if Duration(0).Optional() != "" {
		t.Error("zero is not written empty")
	}
}
