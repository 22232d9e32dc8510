package ui

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// Charts are SVG drawn on the server: a few dozen points each, no script needed. Colours come
// from the stylesheet (classes), so they follow the light or dark theme.
const (
	chartW, chartH = 560, 160
	chartPad       = 28
)

// chart is a drawn chart and its caption.
type chart struct {
	Title string
	SVG   template.HTML
}

// dayBar is one day of backups by outcome.
type dayBar struct {
	Day                 time.Time
	OK, Partial, Failed int
}

// successChart draws a bar per day (the last days days, oldest first): succeeded, partially
// failed and failed backups stacked; the title gives the success rate.
func successChart(id string, jobs []vaultv1.Job, now time.Time, days int) chart {
	start := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -days+1)
	bars := make([]dayBar, days)
	for i := range bars {
		bars[i].Day = start.AddDate(0, 0, i)
	}
	var done, ok int
	for _, j := range jobs {
		if j.FinishedAt == nil {
			continue
		}
		i := int(j.FinishedAt.UTC().Sub(start) / (24 * time.Hour))
		if i < 0 || i >= days {
			continue
		}
		done++
		switch j.State {
		case vaultv1.JobSucceeded:
			bars[i].OK++
			ok++
		case vaultv1.JobPartiallyFailed:
			bars[i].Partial++
		case vaultv1.JobFailed:
			bars[i].Failed++
		default:
			done--
		}
	}
	title := fmt.Sprintf("Backups per day, last %d days: none finished", days)
	if done > 0 {
		title = fmt.Sprintf("Backups per day, last %d days: %d of %d succeeded (%.0f%%)", days, ok, done, 100*float64(ok)/float64(done))
	}
	most := 1
	for _, b := range bars {
		most = max(most, b.OK+b.Partial+b.Failed)
	}
	var sb strings.Builder
	openSVG(&sb, id, title)
	slot := float64(chartW-2*chartPad) / float64(days)
	plotH := float64(chartH - 2*chartPad)
	for i, b := range bars {
		x := float64(chartPad) + float64(i)*slot + slot*0.15
		y := float64(chartH - chartPad)
		for _, part := range []struct {
			n     int
			class string
		}{{b.OK, "ok"}, {b.Partial, "partial"}, {b.Failed, "failed"}} {
			if part.n == 0 {
				continue
			}
			h := plotH * float64(part.n) / float64(most)
			y -= h
			fmt.Fprintf(&sb, `<rect class="bar-%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d %s</title></rect>`,
				part.class, x, y, slot*0.7, h, b.Day.Format("Jan 2"), part.n, part.class)
		}
		if i == 0 || i == days-1 || i%7 == 0 {
			fmt.Fprintf(&sb, `<text class="axis" x="%.1f" y="%d">%s</text>`, x, chartH-8, b.Day.Format("Jan 2"))
		}
	}
	fmt.Fprintf(&sb, `<text class="axis" x="2" y="%d">%d</text>`, chartPad, most)
	axes(&sb)
	sb.WriteString(`</svg>`)
	return chart{Title: title, SVG: template.HTML(sb.String())} //nolint:gosec // numbers and escaped text only
}

// point is one value of a line chart.
type point struct {
	At    time.Time
	Value float64
}

// lineChart draws values over time, oldest first; label formats the y axis's top value.
func lineChart(id, title string, pts []point, label func(float64) string) chart {
	var sb strings.Builder
	openSVG(&sb, id, title)
	if len(pts) == 0 {
		fmt.Fprintf(&sb, `<text class="axis" x="%d" y="%d">no data yet</text>`, chartW/2-30, chartH/2)
		sb.WriteString(`</svg>`)
		return chart{Title: title, SVG: template.HTML(sb.String())} //nolint:gosec // constant text only
	}
	top := 0.0
	for _, p := range pts {
		top = max(top, p.Value)
	}
	if top == 0 {
		top = 1
	}
	t0, t1 := pts[0].At, pts[len(pts)-1].At
	span := t1.Sub(t0).Seconds()
	plotW, plotH := float64(chartW-2*chartPad), float64(chartH-2*chartPad)
	coords := make([]string, len(pts))
	for i, p := range pts {
		x := float64(chartPad)
		if span > 0 {
			x += plotW * p.At.Sub(t0).Seconds() / span
		} else if len(pts) > 1 {
			x += plotW * float64(i) / float64(len(pts)-1)
		}
		y := float64(chartH-chartPad) - plotH*p.Value/top
		coords[i] = fmt.Sprintf("%.1f,%.1f", x, y)
		fmt.Fprintf(&sb, `<circle class="dot" cx="%.1f" cy="%.1f" r="2.5"><title>%s: %s</title></circle>`, x, y, p.At.UTC().Format("Jan 2 15:04"), html.EscapeString(label(p.Value)))
	}
	fmt.Fprintf(&sb, `<polyline class="line" points="%s"/>`, strings.Join(coords, " "))
	fmt.Fprintf(&sb, `<text class="axis" x="2" y="%d">%s</text>`, chartPad-8, html.EscapeString(label(top)))
	fmt.Fprintf(&sb, `<text class="axis" x="%d" y="%d">%s</text>`, chartPad, chartH-8, t0.UTC().Format("Jan 2 15:04"))
	fmt.Fprintf(&sb, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, chartW-chartPad, chartH-8, t1.UTC().Format("Jan 2 15:04"))
	axes(&sb)
	sb.WriteString(`</svg>`)
	return chart{Title: title, SVG: template.HTML(sb.String())} //nolint:gosec // numbers and escaped text only
}

func openSVG(sb *strings.Builder, id, title string) {
	fmt.Fprintf(sb, `<svg id="%s" class="chart" role="img" aria-labelledby="%s-t" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg"><title id="%s-t">%s</title>`,
		html.EscapeString(id), html.EscapeString(id), chartW, chartH, html.EscapeString(id), html.EscapeString(title))
}

func axes(sb *strings.Builder) {
	fmt.Fprintf(sb, `<path class="axis-line" d="M%d %d V%d H%d"/>`, chartPad, chartPad, chartH-chartPad, chartW-chartPad)
}
