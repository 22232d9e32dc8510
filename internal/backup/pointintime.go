package backup

import (
	"context"
	"slices"
	"strings"

	"github.com/cairnbackup/cairn/internal/archive"
)

// atOnePointInTime reads the cluster's resourceVersion and has every later list served at it
// (docs/design/format.md, 4.3.3). It returns the record the manifest carries, which collects the
// resources captured at another moment as the lists report them; nil, with a warning, when the
// version cannot be read.
func (b *run) atOnePointInTime(ctx context.Context) *archive.PointInTime {
	rv, err := b.lister.currentVersion(ctx)
	if err != nil {
		b.addWarning("objects listed each at its own moment, not at one point in time: " + err.Error())
		return nil
	}
	pit := &archive.PointInTime{ResourceVersion: rv}
	b.lister.at = rv
	b.lister.elsewhere = func(r resource, reason string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		gr := r.groupResource()
		if !slices.ContainsFunc(pit.Others, func(o archive.CapturedElsewhere) bool { return o.Resource == gr }) {
			pit.Others = append(pit.Others, archive.CapturedElsewhere{Resource: gr, Reason: reason})
		}
	}
	b.log.Info("capturing at one point in time", "resourceVersion", rv)
	return pit
}

// sortOthers orders the resources captured at another moment by name, for a stable manifest.
func sortOthers(pit *archive.PointInTime) {
	if pit != nil {
		slices.SortFunc(pit.Others, func(a, b archive.CapturedElsewhere) int { return strings.Compare(a.Resource, b.Resource) })
	}
}
