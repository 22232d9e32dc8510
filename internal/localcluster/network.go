package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// allocateNetwork picks a pod bridge and subnet no other local cluster uses: bridge cairn<i> with
// subnet 10.<88+i>.0.0/16. Pods live in network namespaces the node creates, so no address outside
// this machine is ever a target.
func (c *Cluster) allocateNetwork() error {
	used := map[string]bool{}
	entries, _ := os.ReadDir(filepath.Dir(c.Dir))
	for _, e := range entries {
		if !e.IsDir() || e.Name() == c.opts.Name {
			continue
		}
		if other, err := Open(Options{Name: e.Name(), StateRoot: filepath.Dir(c.Dir), Binaries: c.opts.Binaries}); err == nil && other.State.Bridge != "" {
			used[other.State.Bridge] = true
		}
	}
	for i := range 64 {
		bridge := fmt.Sprintf("cairn%d", i)
		if used[bridge] {
			continue
		}
		if _, err := os.Stat(filepath.Join("/sys/class/net", bridge)); err == nil {
			continue // left by a cluster whose state is gone; not ours to take
		}
		c.State.Bridge = bridge
		c.State.PodSubnet = fmt.Sprintf("10.%d.0.0/16", 88+i)
		return nil
	}
	return fmt.Errorf("no free pod bridge: 64 local clusters with nodes exist; stop some (go run ./hack/localcluster down -all)")
}

// otherNodeRunning tells whether another local cluster's kubelet runs on this machine.
func (c *Cluster) otherNodeRunning() bool {
	entries, _ := os.ReadDir(filepath.Dir(c.Dir))
	for _, e := range entries {
		if !e.IsDir() || e.Name() == c.opts.Name {
			continue
		}
		if other, err := Open(Options{Name: e.Name(), StateRoot: filepath.Dir(c.Dir), Binaries: c.opts.Binaries}); err == nil {
			if _, ok := other.running("kubelet"); ok {
				return true
			}
		}
	}
	return false
}
