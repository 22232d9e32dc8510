// Package kube connects cairn to a Kubernetes cluster: kubeconfig loading with the same rules as
// kubectl, and a summary of what the cluster serves.
package kube

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Client rate limits of every cairn connection to a cluster.
const (
	ClientQPS   = 5000
	ClientBurst = 10000
)

// Target names a cluster the way kubectl does: an explicit kubeconfig path (else KUBECONFIG, else
// ~/.kube/config) and a context (else the current one).
type Target struct {
	Kubeconfig string
	Context    string
}

// RESTConfig loads the client configuration of the target.
func (t Target) RESTConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = t.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: t.Context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig (set --kubeconfig, KUBECONFIG or ~/.kube/config, and --context to pick a context): %w", err)
	}
	// Restoring a hundred thousand objects at client-go's default 5 requests a second would take
	// hours; the apiserver's own priority and fairness protects it from this client.
	cfg.QPS, cfg.Burst = ClientQPS, ClientBurst
	cfg.UserAgent = "cairn"
	return cfg, nil
}
