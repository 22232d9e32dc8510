package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/humanize"
)

// funcs are the helpers templates format values with.
var funcs = template.FuncMap{
	"bytes":    humanize.Bytes,
	"when":     formatTime,
	"whenPtr":  formatTimePtr,
	"duration": formatDuration,
	"jobTook":  jobTook,
	"money":    formatMoney,
	"join":     strings.Join,
	"finished": jobFinished,
	// The choices of the filters and the restore form: the API's own lists.
	"jobStates":        func() []string { return vaultv1.JobStates },
	"jobKinds":         func() []string { return agentv1.Kinds },
	"instanceStates":   func() []string { return vaultv1.InstanceStates },
	"conflictPolicies": func() []string { return vaultv1.ConflictPolicies },
	"volumeModes":      func() []string { return vaultv1.VolumeModes },
	"deliveryStates":   func() []string { return vaultv1.DeliveryStates },
	"seconds":          func(s float64) string { return formatDuration(time.Duration(s * float64(time.Second))) },
	"add":              func(a, b int) int { return a + b },
	"scope":            describeScope,
	"statusText":       http.StatusText,
	"navItem":          newNavItem,
	"dryRunDone":       dryRunDone,
	"fileMode":         fileMode,
}

// navItem is one entry of the main navigation.
type navItem struct {
	Href, Label string
	Current     bool
}

func newNavItem(v view, key, href, label string) navItem {
	return navItem{Href: href, Label: label, Current: v.Nav == key}
}

// describeScope says what an instance backs up, in a line.
func describeScope(b vaultv1.BackupConfig) string {
	parts := []string{"all namespaces"}
	if len(b.IncludeNamespaces) > 0 {
		parts[0] = "namespaces " + strings.Join(b.IncludeNamespaces, ", ")
	}
	if len(b.ExcludeNamespaces) > 0 {
		parts = append(parts, "except "+strings.Join(b.ExcludeNamespaces, ", "))
	}
	if len(b.IncludeResources) > 0 {
		parts = append(parts, "only "+strings.Join(b.IncludeResources, ", "))
	}
	if len(b.ExcludeResources) > 0 {
		parts = append(parts, "without "+strings.Join(b.ExcludeResources, ", "))
	}
	if len(b.LabelSelectors) > 0 {
		parts = append(parts, "labels "+strings.Join(b.LabelSelectors, " or "))
	}
	if b.ClusterResources == "false" {
		parts = append(parts, "no cluster-scoped resources")
	}
	if b.SnapshotVolumes {
		parts = append(parts, "volume snapshots")
	} else {
		parts = append(parts, "no volumes")
	}
	return strings.Join(parts, "; ")
}

// formatTime is a UTC timestamp to the minute, the same for every reader of a shared link.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return formatTime(*t)
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

// jobTook is how long a job ran, or "—" before it started or while it runs.
func jobTook(j vaultv1.Job) string {
	if j.StartedAt == nil || j.FinishedAt == nil {
		return "—"
	}
	return formatDuration(j.FinishedAt.Sub(*j.StartedAt))
}

func formatMoney(amount float64, currency string) string {
	return fmt.Sprintf("%.2f %s", amount, currency)
}

func jobFinished(state string) bool {
	switch state {
	case vaultv1.JobQueued, vaultv1.JobRunning:
		return false
	}
	return true
}
