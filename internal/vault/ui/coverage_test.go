package ui

import (
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

func TestCoversNamespace(t *testing.T) {
	for _, tc := range []struct {
		name     string
		config   vaultv1.BackupConfig
		covered  []string
		excluded []string
	}{
		{"no includes: every namespace, the system ones included", vaultv1.BackupConfig{},
			[]string{"default", "shop", "kube-flannel", "kube-system", "kube-public", "kube-node-lease"}, nil},
		{"star", vaultv1.BackupConfig{IncludeNamespaces: []string{"*"}}, []string{"shop", "kube-system"}, nil},
		{"names", vaultv1.BackupConfig{IncludeNamespaces: []string{"shop", "kube-system"}},
			[]string{"shop", "kube-system"}, []string{"default", "shop-2", "kube-public"}},
		{"glob", vaultv1.BackupConfig{IncludeNamespaces: []string{"team-*", "db?"}},
			[]string{"team-a", "team-", "db1"}, []string{"team", "db12", "shop"}},
		{"a glob names system namespaces too", vaultv1.BackupConfig{IncludeNamespaces: []string{"kube-*"}},
			[]string{"kube-flannel", "kube-system", "kube-public"}, []string{"default"}},
		{"excludes", vaultv1.BackupConfig{ExcludeNamespaces: []string{"dev-*", "scratch", "kube-system"}},
			[]string{"prod", "scratch-2", "kube-public"}, []string{"dev-1", "scratch", "kube-system"}},
		{"excludes win over includes", vaultv1.BackupConfig{IncludeNamespaces: []string{"team-*", "kube-system"}, ExcludeNamespaces: []string{"team-b", "kube-*"}},
			[]string{"team-a"}, []string{"team-b", "kube-system"}},
		{"label selectors and resource filters do not count", vaultv1.BackupConfig{IncludeNamespaces: []string{"shop"},
			IncludeResources: []string{"configmaps"}, ExcludeResources: []string{"secrets"}, LabelSelectors: []string{"app=web"},
			ClusterResources: "false"}, []string{"shop"}, []string{"default"}},
		{"a malformed pattern covers nothing", vaultv1.BackupConfig{IncludeNamespaces: []string{"shop", "[a-"}},
			nil, []string{"shop", "default"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ns := range tc.covered {
				if !coversNamespace(tc.config, ns) {
					t.Errorf("%q is not covered, want covered", ns)
				}
			}
			for _, ns := range tc.excluded {
				if coversNamespace(tc.config, ns) {
					t.Errorf("%q is covered, want not", ns)
				}
			}
		})
	}
}

func coversNamespace(c vaultv1.BackupConfig, ns string) bool { return namespaceCoverage(c)(ns) }
