// Package skewtest reads the recorded exchanges of earlier releases' agents and vaults
// (../testdata/recorded) and compares JSON shapes, for the tests that prove an agent and a vault
// one release apart still work together. It is imported by tests only.
package skewtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// Previous is the release whose recordings the skew tests replay: the one before this.
const Previous = "e9c7031"

// Recorded returns the JSON object recorded in file (e.g. "agent-heartbeat.json") of release.
func Recorded(release, file string) (map[string]any, []byte, error) {
	_, self, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(self), "..", "testdata", "recorded", release, file)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("recorded exchange: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, nil, fmt.Errorf("recorded exchange %s: %w", path, err)
	}
	return m, data, nil
}

// Missing lists what a reader that expects the shape of want finds missing or different in got:
// every field of want must be in got with the same JSON type, and with the same value unless its
// path (dot-separated, array elements as [i]) is in ignore. Fields of got that want lacks are
// fine: a reader ignores fields it does not know.
func Missing(want, got any, ignore ...string) []string {
	var out []string
	skip := map[string]bool{}
	for _, p := range ignore {
		skip[p] = true
	}
	compare("", want, got, skip, &out)
	sort.Strings(out)
	return out
}

func compare(path string, want, got any, skip map[string]bool, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: an object, got %T", orRoot(path), got))
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("%s: missing", join(path, k)))
				continue
			}
			compare(join(path, k), wv, gv, skip, out)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: a list, got %T", orRoot(path), got))
			return
		}
		for i := 0; i < len(w) && i < len(g); i++ {
			compare(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], skip, out)
		}
		if len(g) < len(w) && !skip[path] {
			*out = append(*out, fmt.Sprintf("%s: %d items, got %d", path, len(w), len(g)))
		}
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			*out = append(*out, fmt.Sprintf("%s: %T, got %T", path, want, got))
			return
		}
		if !skip[path] && want != got {
			*out = append(*out, fmt.Sprintf("%s: %v, got %v", path, want, got))
		}
	}
}

// Unknown lists the fields of got that no object of known has at the same path: what a reader
// that knows only the fields of known (and refuses unknown ones, as a vault does) would refuse.
func Unknown(got any, known ...any) []string {
	var out []string
	unknown("", got, known, &out)
	sort.Strings(out)
	return out
}

func unknown(path string, got any, known []any, out *[]string) {
	switch g := got.(type) {
	case map[string]any:
		for k, gv := range g {
			var sub []any
			for _, kn := range known {
				if m, ok := kn.(map[string]any); ok {
					if v, ok := m[k]; ok {
						sub = append(sub, v)
					}
				}
			}
			if len(sub) == 0 {
				*out = append(*out, join(path, k))
				continue
			}
			unknown(join(path, k), gv, sub, out)
		}
	case []any:
		var elems []any
		for _, kn := range known {
			if l, ok := kn.([]any); ok {
				elems = append(elems, l...)
			}
		}
		for i, gv := range g {
			if len(elems) > 0 {
				unknown(fmt.Sprintf("%s[%d]", path, i), gv, elems, out)
			}
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orRoot(path string) string {
	if path == "" {
		return "(the answer)"
	}
	return strings.TrimPrefix(path, ".")
}
