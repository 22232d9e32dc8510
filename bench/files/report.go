package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// report is what a whole run measured.
type report struct {
	data    *dataset
	tools   []*tool
	runs    int
	results map[string][]toolRun // tool name → one toolRun per run
	total   time.Duration
	machine string
}

// metric is one table: a value per phase of a run, written by format, and extra (if set) adds
// to the median's cell.
type metric struct {
	title  string
	phases []phase
	value  func(tr toolRun, p phase) float64
	format func(v float64) string
	extra  func(v float64, p phase, d *dataset) string
}

var allPhases = []phase{phaseFirst, phaseUnchanged, phaseIncremental, phaseRestore}

var metrics = []metric{
	{
		title: "Wall time", phases: allPhases,
		value:  func(tr toolRun, p phase) float64 { return tr[p].wall.Seconds() },
		format: secs,
		extra: func(v float64, p phase, d *dataset) string {
			switch p {
			case phaseFirst:
				return fmt.Sprintf(" (%.0f MB/s)", float64(d.baseTree.bytes)/1e6/v)
			case phaseRestore:
				return fmt.Sprintf(" (%.0f MB/s)", float64(d.mutTree.bytes)/1e6/v)
			}
			return ""
		},
	},
	{
		title: "CPU time (user + system)", phases: allPhases,
		value:  func(tr toolRun, p phase) float64 { return tr[p].cpu.Seconds() },
		format: secs,
	},
	{
		title: "Peak RSS", phases: allPhases,
		value:  func(tr toolRun, p phase) float64 { return float64(tr[p].rssKiB) / 1024 },
		format: func(v float64) string { return fmt.Sprintf("%.0f MiB", v) },
	},
	{
		title: "Repository size after the phase (× the base tree's bytes)", phases: allPhases,
		value:  func(tr toolRun, p phase) float64 { return float64(tr[p].repoBytes) },
		format: func(v float64) string { return mb(int64(v)) },
		extra: func(v float64, _ phase, d *dataset) string {
			return fmt.Sprintf(" (%.3f)", v/float64(d.baseTree.bytes))
		},
	},
	{
		title: "Bytes added to the repository by the phase", phases: []phase{phaseUnchanged, phaseIncremental},
		value:  func(tr toolRun, p phase) float64 { return float64(added(tr, p)) },
		format: func(v float64) string { return "+" + mb(int64(v)) },
	},
}

func added(tr toolRun, p phase) int64 { return tr[p].repoBytes - tr[p-1].repoBytes }

// goal is one of the file store's goals: cairn's figure divided by a reference tool's (or, with
// no reference, cairn's figure itself), at most limit.
type goal struct {
	what, ref string
	value     func(tr toolRun) float64
	limit     float64
	unit      string // of an absolute goal
}

var goals = []goal{
	{what: "first backup time, cairn / kopia (defaults)", ref: "kopia", limit: 0.5,
		value: func(tr toolRun) float64 { return tr[phaseFirst].wall.Seconds() }},
	{what: "repository size after the first backup, cairn / restic", ref: "restic", limit: 1.0,
		value: func(tr toolRun) float64 { return float64(tr[phaseFirst].repoBytes) }},
	{what: "unchanged re-backup time, cairn / kopia (defaults)", ref: "kopia", limit: 1.0,
		value: func(tr toolRun) float64 { return tr[phaseUnchanged].wall.Seconds() }},
	{what: "bytes added by the incremental, cairn / restic", ref: "restic", limit: 1.0,
		value: func(tr toolRun) float64 { return float64(added(tr, phaseIncremental)) }},
	{what: "restore time, cairn / restic", ref: "restic", limit: 0.7,
		value: func(tr toolRun) float64 { return tr[phaseRestore].wall.Seconds() }},
	{what: "cairn's peak RSS, any phase", limit: 256, unit: "MiB",
		value: func(tr toolRun) float64 {
			var m int64
			for _, s := range tr {
				m = max(m, s.rssKiB)
			}
			return float64(m) / 1024
		}},
}

func printReport(w io.Writer, r report) {
	d := r.data
	fmt.Fprintf(w, "\n## bench/files: cairn's file store beside kopia and restic\n\n")
	mutation := d.mutNote
	var changed int64
	if _, err := fmt.Sscanf(d.mutNote, "mutate: ~%d bytes", &changed); err == nil && d.baseTree.bytes > 0 {
		mutation = fmt.Sprintf("%s changed or added, %.1f%% of base", mb(changed), 100*float64(changed)/float64(d.baseTree.bytes))
	}
	fmt.Fprintf(w, "- dataset: base %s in %d files; mut %s in %d files (%s); made by %s in %s\n",
		mb(d.baseTree.bytes), d.baseTree.files, mb(d.mutTree.bytes), d.mutTree.files, mutation,
		d.generator, filepath.Dir(d.base))
	fmt.Fprintf(w, "- every backup names the same path, %s (base, then mut, renamed there)\n", d.src)
	fmt.Fprintf(w, "- storage: file://, a fresh repository directory per tool and run on the dataset's filesystem; each tool's own configuration and cache beside it\n")
	fmt.Fprintf(w, "- page cache: warm. The source tree is read once before each timed backup; `sync` before every timed phase; "+
		"the restore reads the repository the backups just wrote (still in the page cache) and no tool flushes what it restores\n")
	if r.runs > 1 {
		fmt.Fprintf(w, "- %d runs, the tools one after the other in each; cells are medians, [min–max] the spread\n", r.runs)
	} else {
		fmt.Fprintf(w, "- 1 run, the tools one after the other\n")
	}
	fmt.Fprintf(w, "- tools:\n")
	for _, t := range r.tools {
		fmt.Fprintf(w, "  - %s: %s, %s\n", t.name, t.label, t.bin)
	}
	fmt.Fprintf(w, "- machine: %s\n", r.machine)

	for _, m := range metrics {
		fmt.Fprintf(w, "\n### %s\n\n| phase |", m.title)
		for _, t := range r.tools {
			fmt.Fprintf(w, " %s |", t.name)
		}
		fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("--:|", len(r.tools)))
		for _, p := range m.phases {
			fmt.Fprintf(w, "| %s |", phaseNames[p])
			for _, t := range r.tools {
				vs := collect(r.results[t.name], func(tr toolRun) float64 { return m.value(tr, p) })
				v := median(vs)
				cell := m.format(v)
				if m.extra != nil {
					cell += m.extra(v, p, d)
				}
				fmt.Fprintf(w, " %s%s |", cell, spread(vs, m.format))
			}
			fmt.Fprintln(w)
		}
	}

	fmt.Fprintf(w, "\n### Goals (ratios of the same run, then their median)\n\n| goal | measured | target | |\n|---|--:|--:|---|\n")
	cairn, haveCairn := r.results["cairn"]
	for _, g := range goals {
		ref, haveRef := r.results[g.ref]
		switch {
		case !haveCairn:
			fmt.Fprintf(w, "| %s | – | ≤ %s | not measured: -tools has no cairn |\n", g.what, limit(g))
			continue
		case g.ref != "" && !haveRef:
			fmt.Fprintf(w, "| %s | – | ≤ %s | not measured: -tools has no %s |\n", g.what, limit(g), g.ref)
			continue
		}
		var vs []float64
		for i, tr := range cairn {
			v := g.value(tr)
			if g.ref != "" {
				v /= g.value(ref[i])
			}
			vs = append(vs, v)
		}
		v := median(vs)
		format := func(v float64) string { return fmt.Sprintf("%.3f", v) }
		if g.unit != "" {
			format = func(v float64) string { return fmt.Sprintf("%.0f %s", v, g.unit) }
		}
		verdict := "PASS"
		if v > g.limit {
			verdict = "MISS"
		}
		fmt.Fprintf(w, "| %s | %s%s | ≤ %s | %s |\n", g.what, format(v), spread(vs, format), limit(g), verdict)
	}
	fmt.Fprintf(w, "\nTotal wall time of the measurements (without making the dataset): %s\n", r.total.Round(time.Second))
}

func limit(g goal) string {
	if g.unit != "" {
		return fmt.Sprintf("%.0f %s", g.limit, g.unit)
	}
	return fmt.Sprintf("%.1f", g.limit)
}

func collect(runs []toolRun, f func(toolRun) float64) []float64 {
	vs := make([]float64, len(runs))
	for i, tr := range runs {
		vs[i] = f(tr)
	}
	return vs
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// spread is " [min–max]" for more than one value, else nothing.
func spread(vs []float64, format func(float64) string) string {
	if len(vs) < 2 {
		return ""
	}
	return fmt.Sprintf(" [%s – %s]", format(slices.Min(vs)), format(slices.Max(vs)))
}

func secs(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f s", v)
	}
	return fmt.Sprintf("%.1f s", v)
}

// mb writes n bytes in decimal units, as the reference figures are written: MB, or kB below 1 MB.
func mb(n int64) string {
	switch a := max(n, -n); {
	case a < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case a < 100e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}
