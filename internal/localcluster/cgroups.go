package localcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const cgroupMount = "/sys/fs/cgroup"

// cgroupRoot is the node's own cgroup (the kubelet's cgroupRoot): its pods live below it, apart from
// any other node on the machine.
func (c *Cluster) cgroupRoot() string { return "/cairn-" + c.opts.Name }

// cgroupHierarchies lists the mounted cgroup hierarchies: each v1 controller and the unified one.
func cgroupHierarchies() []string {
	var out []string
	candidates, _ := filepath.Glob(filepath.Join(cgroupMount, "*"))
	candidates = append(candidates, cgroupMount)
	for _, h := range candidates {
		if _, err := os.Stat(filepath.Join(h, "cgroup.procs")); err == nil {
			out = append(out, h)
		}
	}
	return out
}

// createCgroupRoot makes the node's cgroup in every hierarchy: the kubelet refuses a cgroupRoot that
// does not exist. A new v1 cpuset cgroup is unusable until it has CPUs and memory nodes, so those
// are copied from the parent.
func (c *Cluster) createCgroupRoot() error {
	for _, h := range cgroupHierarchies() {
		dir := filepath.Join(h, c.cgroupRoot())
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if value, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				if err := os.WriteFile(filepath.Join(dir, f), value, 0o644); err != nil {
					return fmt.Errorf("set %s of cgroup %s: %w", f, dir, err)
				}
			}
		}
	}
	return nil
}

// removeCgroupRoot is the last resort after a crash: containers whose shim was killed keep running,
// reparented to init, inside the node's cgroup. It kills what is left there and removes the cgroups.
func (c *Cluster) removeCgroupRoot() error {
	dirs := c.nodeCgroups()
	for range 50 {
		pids := map[int]bool{}
		for _, d := range dirs {
			for _, pid := range cgroupProcs(d) {
				pids[pid] = true
			}
		}
		if len(pids) == 0 {
			break
		}
		for pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Children before parents.
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	var errs []error
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// nodeCgroups lists every cgroup directory at or below the node's cgroup root, in every hierarchy.
func (c *Cluster) nodeCgroups() []string {
	var dirs []string
	for _, h := range cgroupHierarchies() {
		top := filepath.Join(h, c.cgroupRoot())
		_ = filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
	}
	return dirs
}

func cgroupProcs(dir string) []int {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
