package agent

import (
	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/scope"
)

// backupScope is the engine's scope of a backup job's configuration.
func backupScope(c agentv1.BackupConfig) scope.Spec {
	return scope.Spec{IncludedNamespaces: c.IncludeNamespaces, ExcludedNamespaces: c.ExcludeNamespaces,
		IncludedResources: c.IncludeResources, ExcludedResources: c.ExcludeResources,
		LabelSelectors: c.LabelSelectors, IncludeClusterResources: c.ClusterResources}
}

// restoreScope is the engine's scope of a restore job's filters.
func restoreScope(o agentv1.RestoreOptions) scope.Spec {
	return scope.Spec{IncludedNamespaces: o.IncludeNamespaces, ExcludedNamespaces: o.ExcludeNamespaces,
		IncludedResources: o.IncludeResources, ExcludedResources: o.ExcludeResources,
		LabelSelectors: o.LabelSelectors, IncludeClusterResources: o.ClusterResources}
}
