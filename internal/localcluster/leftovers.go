package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Leftovers lists what of the cluster still exists on the machine: processes, mounts, the hosts
// line and the pod bridge. After Stop it must be empty.
func (c *Cluster) Leftovers() []string {
	var left []string
	for _, pid := range c.strayProcesses() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		left = append(left, fmt.Sprintf("process %d: %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	if points, err := mountsUnder(c.Dir); err == nil {
		for _, p := range points {
			left = append(left, "mount "+p)
		}
	}
	if data, err := os.ReadFile(hostsFile); err == nil && strings.Contains(string(data), hostsMarker(c.Dir)) {
		left = append(left, hostsFile+" line for "+c.Dir)
	}
	if c.State.Node != "" {
		if _, err := os.Stat(filepath.Join("/sys/class/net", c.State.Bridge)); c.State.Bridge != "" && err == nil {
			left = append(left, "network device "+c.State.Bridge)
		}
		for _, d := range c.nodeCgroups() {
			left = append(left, "cgroup "+d)
		}
		for _, l := range c.containerLogLinks() {
			left = append(left, "log link "+l)
		}
		if !c.otherNodeRunning() {
			for _, d := range c.createdHostDirs() {
				if _, err := os.Stat(d); err == nil {
					left = append(left, "directory "+d)
				}
			}
		}
	}
	if _, err := os.Stat(c.Dir); err == nil {
		left = append(left, "directory "+c.Dir)
	}
	return left
}
