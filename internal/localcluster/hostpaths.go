package localcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// The kubelet writes to a few fixed host paths whatever its root directory: the device-plugin socket
// and the /var/log/containers links to each container's log.
const (
	kubeletHostDir     = "/var/lib/kubelet"
	devicePluginDir    = "/var/lib/kubelet/device-plugins"
	devicePluginSocket = "/var/lib/kubelet/device-plugins/kubelet.sock"
	containerLogLinks  = "/var/log/containers"
)

func (c *Cluster) podLogsDir() string { return filepath.Join(c.Dir, "pod-logs") }

// hostDirsLedger lists, for all local clusters of the machine, the fixed host directories that a
// node created. Nodes share those directories, so the last node to stop removes them.
func (c *Cluster) hostDirsLedger() string {
	return filepath.Join(filepath.Dir(c.Dir), ".created-host-dirs")
}

// recordHostPaths adds to the ledger the fixed host directories the node is about to create.
func (c *Cluster) recordHostPaths() error {
	created := c.createdHostDirs()
	for _, d := range []string{kubeletHostDir, devicePluginDir, containerLogLinks} {
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) && !slices.Contains(created, d) {
			created = append(created, d)
		}
	}
	if len(created) == 0 {
		return nil
	}
	if err := os.WriteFile(c.hostDirsLedger(), []byte(strings.Join(created, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("record created host dirs: %w", err)
	}
	return nil
}

func (c *Cluster) createdHostDirs() []string {
	data, err := os.ReadFile(c.hostDirsLedger())
	if err != nil {
		return nil
	}
	return strings.Fields(string(data))
}

// cleanHostPaths removes the container log links into this node's pod logs and, when no other
// node runs, the device-plugin socket and the directories local nodes created.
func (c *Cluster) cleanHostPaths(otherNodeRunning bool) error {
	var errs []error
	for _, link := range c.containerLogLinks() {
		if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove log link: %w", err))
		}
	}
	if otherNodeRunning {
		return errors.Join(errs...)
	}
	if err := os.Remove(devicePluginSocket); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove device-plugin socket: %w", err))
	}
	// Deepest first; a directory someone else has put files in is not empty and stays.
	created := c.createdHostDirs()
	sort.Slice(created, func(i, j int) bool { return len(created[i]) > len(created[j]) })
	for _, d := range created {
		_ = os.Remove(d)
	}
	_ = os.Remove(c.hostDirsLedger())
	return errors.Join(errs...)
}

// containerLogLinks lists the links in /var/log/containers that point into this node's pod logs.
func (c *Cluster) containerLogLinks() []string {
	entries, err := os.ReadDir(containerLogLinks)
	if err != nil {
		return nil
	}
	var links []string
	for _, e := range entries {
		p := filepath.Join(containerLogLinks, e.Name())
		if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, c.podLogsDir()+"/") {
			links = append(links, p)
		}
	}
	return links
}
