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
	// Gzip asks the API server to compress its answers. Off by default: on a fast link (an agent in
	// its cluster, a local cluster) gzip costs the API server more CPU than it saves on the wire,
	// about 30% of a large backup's time on a 2-core machine (docs/benchmarks.md); a slow link to a
	// remote cluster is where it pays.
	Gzip bool
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
	t.Tune(cfg, "cairn")
	return cfg, nil
}

// Tune sets what every cairn connection to a cluster has, however it was configured: the rate
// limits, compression as the target asks, and the user agent.
func (t Target) Tune(cfg *rest.Config, userAgent string) {
	// Restoring a hundred thousand objects at client-go's default 5 requests a second would take
	// hours; the apiserver's own priority and fairness protects it from this client.
	cfg.QPS, cfg.Burst = ClientQPS, ClientBurst
	cfg.DisableCompression = !t.Gzip
	cfg.UserAgent = userAgent
}
