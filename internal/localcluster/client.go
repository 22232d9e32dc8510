package localcluster

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RESTConfig returns an admin client configuration for the cluster.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.State.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig of cluster %q: %w", c.opts.Name, err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return cfg, nil
}

// Client returns an admin clientset for the cluster.
func (c *Cluster) Client() (kubernetes.Interface, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for cluster %q: %w", c.opts.Name, err)
	}
	return client, nil
}
