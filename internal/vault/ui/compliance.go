package ui

import (
	"cmp"
	"slices"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// compliance is what the vault's instances protect of the namespaces its agents report.
type compliance struct {
	Clusters             []clusterCompliance
	ProtectedClusters    int
	NamespacesKnown      int
	NamespacesProtected  int
	UnprotectedNamespace int
	MoreClusters         int // clusters left out of Clusters, the best protected
}

// clusterCompliance is one cluster's coverage. Known is false until its agent has reported the
// cluster's namespaces.
type clusterCompliance struct {
	Name        string
	Health      string
	Instances   int
	Known       bool
	Namespaces  int
	Protected   int
	Unprotected []string
}

// assessCompliance flags every namespace that no protected instance on its cluster covers, and
// every cluster no protected instance covers at all.
func assessCompliance(clusters []vaultv1.Cluster, instances []vaultv1.Instance) compliance {
	covers := map[string][]func(string) bool{}
	for _, in := range instances {
		if in.State == vaultv1.InstanceProtected {
			covers[in.Cluster] = append(covers[in.Cluster], namespaceCoverage(in.Backup))
		}
	}
	var out compliance
	for _, cl := range clusters {
		if cl.Health == vaultv1.HealthRevoked {
			continue
		}
		cc := clusterCompliance{Name: cl.Name, Health: cl.Health, Instances: len(covers[cl.Name]), Known: cl.Namespaces != nil, Namespaces: len(cl.Namespaces)}
		for _, ns := range cl.Namespaces {
			if anyCovers(covers[cl.Name], ns) {
				cc.Protected++
			} else {
				cc.Unprotected = append(cc.Unprotected, ns)
			}
		}
		if cc.Instances > 0 {
			out.ProtectedClusters++
		}
		out.NamespacesKnown += cc.Namespaces
		out.NamespacesProtected += cc.Protected
		out.UnprotectedNamespace += len(cc.Unprotected)
		out.Clusters = append(out.Clusters, cc)
	}
	return out
}

func anyCovers(covers []func(string) bool, ns string) bool {
	for _, c := range covers {
		if c(ns) {
			return true
		}
	}
	return false
}

// worstFirst orders the clusters by what they leave unprotected, most first (a cluster without
// instances first of all), and keeps the first n.
func (c *compliance) worstFirst(n int) {
	gap := func(cc clusterCompliance) int {
		if cc.Instances == 0 {
			return 1 << 30
		}
		return len(cc.Unprotected)
	}
	slices.SortStableFunc(c.Clusters, func(a, b clusterCompliance) int { return cmp.Compare(gap(b), gap(a)) })
	if len(c.Clusters) > n {
		c.MoreClusters = len(c.Clusters) - n
		c.Clusters = c.Clusters[:n]
	}
}
