package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes JSON as a string with units d (24h), w (7d)
// and y (365d) besides Go's: "7d", "4w", "1y", "36h", "90m". Units may be combined ("1d12h").
type Duration time.Duration

const (
	day  = 24 * time.Hour
	week = 7 * day
	year = 365 * day
)

// formatUnits are tried largest first: the first that divides a duration gives its shortest exact form.
var formatUnits = [...]struct {
	suffix string
	size   time.Duration
}{{"y", year}, {"w", week}, {"d", day}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}}

const durationExamples = `use a number and a unit like "7d", "4w", "1y", "36h" or "90m"`

// ParseDuration parses a non-negative duration such as "7d", "4w", "1y", "36h", "90m" or "1d12h".
func ParseDuration(s string) (Duration, error) {
	switch {
	case s == "":
		return 0, fmt.Errorf("duration %q: empty; %s", s, durationExamples)
	case s[0] == '-':
		return 0, fmt.Errorf("duration %q: must not be negative; %s", s, durationExamples)
	case s == "0":
		return 0, nil
	}
	var total time.Duration
	for rest := s; rest != ""; {
		n := spanOf(rest, isNumberByte)
		u := n + spanOf(rest[n:], func(b byte) bool { return !isNumberByte(b) })
		number, unit := rest[:n], rest[n:u]
		rest = rest[u:]
		if number == "" || number == "." || strings.Count(number, ".") > 1 || unit == "" {
			return 0, fmt.Errorf("duration %q: %s", s, durationExamples)
		}
		goUnit, factor := unit, time.Duration(1)
		switch unit {
		case "d":
			goUnit, factor = "h", 24
		case "w":
			goUnit, factor = "h", 7*24
		case "y":
			goUnit, factor = "h", 365*24
		case "h", "m", "s", "ms", "us", "µs", "ns":
		default:
			return 0, fmt.Errorf("duration %q: unknown unit %q; %s", s, unit, durationExamples)
		}
		// With the number checked above, ParseDuration fails only on overflow.
		v, err := time.ParseDuration(number + goUnit)
		if err != nil || v > math.MaxInt64/factor || total > math.MaxInt64-v*factor {
			return 0, fmt.Errorf("duration %q: too large", s)
		}
		total += v * factor
	}
	return Duration(total), nil
}

func isNumberByte(b byte) bool { return b == '.' || '0' <= b && b <= '9' }

// spanOf returns the length of the prefix of s whose bytes all satisfy ok.
func spanOf(s string, ok func(byte) bool) int {
	i := 0
	for i < len(s) && ok(s[i]) {
		i++
	}
	return i
}

// String returns the shortest exact form among y, w, d, h, m and s ("1w" for 168h, "36h", "90m").
// Durations that are not whole seconds fall back to Go's format.
func (d Duration) String() string {
	if d == 0 {
		return "0s"
	}
	for _, u := range formatUnits {
		if time.Duration(d)%u.size == 0 {
			return strconv.FormatInt(int64(time.Duration(d)/u.size), 10) + u.suffix
		}
	}
	return time.Duration(d).String()
}

// MarshalJSON writes the duration as a JSON string in the form of String.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a JSON string accepted by ParseDuration; null leaves d unchanged.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s: must be a string; %s", b, durationExamples)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Optional writes d for a field that may be unset: empty for zero, else as String.
func (d Duration) Optional() string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// ParseOptionalDuration reads what Optional writes: empty is zero, anything else as ParseDuration.
func ParseOptionalDuration(s string) (Duration, error) {
	if s == "" {
		return 0, nil
	}
	return ParseDuration(s)
}
