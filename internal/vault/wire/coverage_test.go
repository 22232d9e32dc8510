package wire

import "testing"

func TestCoversNamespace(t *testing.T) {
	for _, tc := range []struct {
		name     string
		config   BackupConfig
		covered  []string
		excluded []string
	}{
		{"no includes: all but the system namespaces", BackupConfig{},
			[]string{"default", "shop", "kube-flannel"}, []string{"kube-system", "kube-public", "kube-node-lease"}},
		{"star", BackupConfig{IncludeNamespaces: []string{"*"}}, []string{"shop"}, []string{"kube-system"}},
		{"names", BackupConfig{IncludeNamespaces: []string{"shop", "kube-system"}},
			[]string{"shop", "kube-system"}, []string{"default", "shop-2", "kube-public"}},
		{"glob", BackupConfig{IncludeNamespaces: []string{"team-*", "db?"}},
			[]string{"team-a", "team-", "db1"}, []string{"team", "db12", "shop"}},
		{"a glob does not name a system namespace", BackupConfig{IncludeNamespaces: []string{"kube-*"}},
			[]string{"kube-flannel"}, []string{"kube-system", "kube-public"}},
		{"excludes", BackupConfig{ExcludeNamespaces: []string{"dev-*", "scratch"}},
			[]string{"prod", "scratch-2"}, []string{"dev-1", "scratch", "kube-system"}},
		{"excludes win over includes", BackupConfig{IncludeNamespaces: []string{"team-*", "kube-system"}, ExcludeNamespaces: []string{"team-b", "kube-*"}},
			[]string{"team-a"}, []string{"team-b", "kube-system"}},
		{"label selectors and resource filters do not count", BackupConfig{IncludeNamespaces: []string{"shop"},
			IncludeResources: []string{"configmaps"}, ExcludeResources: []string{"secrets"}, LabelSelectors: []string{"app=web"},
			ClusterResources: "false"}, []string{"shop"}, []string{"default"}},
		{"a malformed pattern covers nothing", BackupConfig{IncludeNamespaces: []string{"shop", "[a-"}},
			nil, []string{"shop", "default"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ns := range tc.covered {
				if !tc.config.CoversNamespace(ns) {
					t.Errorf("%q is not covered, want covered", ns)
				}
			}
			for _, ns := range tc.excluded {
				if tc.config.CoversNamespace(ns) {
					t.Errorf("%q is covered, want not", ns)
				}
			}
		})
	}
}
