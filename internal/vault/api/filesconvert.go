package api

import (
	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
)

// The browse and fetch jobs' specs and results in the API's shapes.

func apiFilesSpecs(s agentv1.JobSpec) (*vaultv1.BrowseJob, *vaultv1.FetchJob) {
	var b *vaultv1.BrowseJob
	var f *vaultv1.FetchJob
	if s.Browse != nil {
		v := s.Browse.VolumePath
		b = &vaultv1.BrowseJob{RecoveryPoint: v.RecoveryPoint, Storage: apiStorage(v.Storage), Namespace: v.Namespace, Claim: v.Claim, Path: v.Path}
	}
	if s.Fetch != nil {
		v := s.Fetch.VolumePath
		f = &vaultv1.FetchJob{RecoveryPoint: v.RecoveryPoint, Storage: apiStorage(v.Storage), Namespace: v.Namespace, Claim: v.Claim, Path: v.Path}
	}
	return b, f
}

func apiFilesResults(r *agentv1.JobResult) (*vaultv1.BrowseResult, *vaultv1.FetchResult) {
	var b *vaultv1.BrowseResult
	var f *vaultv1.FetchResult
	if r.Browse != nil {
		b = &vaultv1.BrowseResult{Path: r.Browse.Path, Total: r.Browse.Total, Truncated: r.Browse.Truncated,
			Entries: make([]vaultv1.FileEntry, len(r.Browse.Entries))}
		for i, e := range r.Browse.Entries {
			b.Entries[i] = vaultv1.FileEntry(e)
		}
	}
	if r.Fetch != nil {
		v := vaultv1.FetchResult(*r.Fetch)
		f = &v
	}
	return b, f
}
