package ui

import (
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/scope"
)

// namespaceCoverage tells whether a backup with configuration c backs up the objects of a
// namespace, for asking about many namespaces. It is the backup engine's own test (scope.Scope.NamespaceIncluded): names are
// globs, no includes (or "*") mean every namespace but the system ones (kube-system, kube-public,
// kube-node-lease), which count only when named without a glob, and excludes win. Label selectors
// and resource filters narrow what a namespace's backup holds, not which namespaces are backed
// up, so they do not count. A configuration with a malformed namespace pattern covers nothing:
// its backups fail. The backup's exclusion annotation on the Namespace object itself is not
// seen here.
func namespaceCoverage(c vaultv1.BackupConfig) func(ns string) bool {
	s, err := scope.New(scope.Spec{IncludedNamespaces: c.IncludeNamespaces, ExcludedNamespaces: c.ExcludeNamespaces})
	if err != nil {
		return func(string) bool { return false }
	}
	return s.NamespaceIncluded
}
