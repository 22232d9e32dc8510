package wire

import "github.com/cairnbackup/cairn/internal/scope"

// ScopeSpec is the engine's scope of a backup configuration.
func (c BackupConfig) ScopeSpec() scope.Spec {
	return scope.Spec{IncludedNamespaces: c.IncludeNamespaces, ExcludedNamespaces: c.ExcludeNamespaces,
		IncludedResources: c.IncludeResources, ExcludedResources: c.ExcludeResources,
		LabelSelectors: c.LabelSelectors, IncludeClusterResources: c.ClusterResources}
}

// ScopeSpec is the engine's scope of a restore's filters.
func (o RestoreOptions) ScopeSpec() scope.Spec {
	return scope.Spec{IncludedNamespaces: o.IncludeNamespaces, ExcludedNamespaces: o.ExcludeNamespaces,
		IncludedResources: o.IncludeResources, ExcludedResources: o.ExcludeResources,
		LabelSelectors: o.LabelSelectors, IncludeClusterResources: o.ClusterResources}
}
