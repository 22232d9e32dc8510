package agent

import (
	"context"
	"sort"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// runInventory reports a page of the backups the instance's repository holds, those named after
// spec.After, so that the vault rebuilds its catalogue from storage (docs/design/vault.md, "The
// catalogue rebuilt from storage"). Only the page's manifests are read.
func (a *agent) runInventory(ctx context.Context, j *jobRun, spec *agentv1.InventoryJob) outcome {
	repo, err := a.openRepository(ctx, j, spec.Storage)
	if err != nil {
		return failed(nil, err)
	}
	names, err := repo.BackupNames(ctx)
	if err != nil {
		return failed(nil, err)
	}
	names = names[sort.SearchStrings(names, spec.After):]
	if len(names) > 0 && names[0] == spec.After {
		names = names[1:]
	}
	res := &agentv1.InventoryResult{}
	if len(names) > agentv1.InventoryPage {
		names, res.More = names[:agentv1.InventoryPage], true
	}
	j.log.Info("reading the repository's backups", "storage", repo.Storage().String(), "after", spec.After, "backups", len(names), "more", res.More)
	for i, name := range names {
		e := repo.CatalogEntry(ctx, name)
		if err := ctx.Err(); err != nil {
			return failed(nil, err)
		}
		if e.Manifest == nil {
			res.Unreadable = append(res.Unreadable, agentv1.UnreadableBackup{Name: name, Problem: e.Problem})
			j.log.Warn("backup not readable", "backup", name, "problem", e.Problem)
			continue
		}
		p := summarize(*e.Manifest)
		p.Instance = spec.Instance
		res.Points = append(res.Points, *p)
		j.progress(int64(i+1), 0, "reading the manifests")
	}
	j.log.Info("repository read", "points", len(res.Points), "unreadable", len(res.Unreadable), "more", res.More)
	return outcome{state: agentv1.JobSucceeded, result: &agentv1.JobResult{Inventory: res}}
}
