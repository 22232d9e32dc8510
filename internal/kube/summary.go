package kube

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Summary is what `cairn cluster info` reports of a cluster.
type Summary struct {
	Server        string `json:"server"`
	Version       string `json:"version"`
	Nodes         int    `json:"nodes"`
	ReadyNodes    int    `json:"readyNodes"`
	Namespaces    int    `json:"namespaces"`
	ResourceTypes int    `json:"resourceTypes"`
}

// Summarize asks the cluster for its version, nodes, namespaces and the resource types it serves
// (listable ones, at their preferred versions: what a backup would capture).
func Summarize(ctx context.Context, cfg *rest.Config) (Summary, error) {
	s := Summary{Server: cfg.Host}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return s, fmt.Errorf("create client: %w", err)
	}
	disc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	v, err := disc.ServerVersion()
	if err != nil {
		return s, fmt.Errorf("reach %s: %w", cfg.Host, err)
	}
	s.Version = v.GitVersion
	lists, err := discovery.ServerPreferredResources(disc)
	if err != nil && len(lists) == 0 {
		return s, fmt.Errorf("discover resource types: %w", err)
	}
	for _, l := range lists {
		for _, r := range l.APIResources {
			if hasVerb(r.Verbs, "list") {
				s.ResourceTypes++
			}
		}
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, fmt.Errorf("list nodes: %w", err)
	}
	s.Nodes = len(nodes.Items)
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				s.ReadyNodes++
			}
		}
	}
	nss, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, fmt.Errorf("list namespaces: %w", err)
	}
	s.Namespaces = len(nss.Items)
	return s, nil
}

func hasVerb(verbs []string, want string) bool {
	for _, v := range verbs {
		if v == want {
			return true
		}
	}
	return false
}
