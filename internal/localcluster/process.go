package localcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A component is one long-running process of the cluster. Its pid is kept in run/<name>.pid and its
// output in logs/<name>.log under the cluster's directory, so that a later `down` (or a start after a
// crash) finds and stops it even when the process that started it is gone.
type component struct {
	name string
	path string
	args []string
	env  []string
}

func (c *Cluster) pidFile(name string) string { return filepath.Join(c.Dir, "run", name+".pid") }
func (c *Cluster) logFile(name string) string { return filepath.Join(c.Dir, "logs", name+".log") }

// launch starts the component in its own session so that it outlives the command that started it
// (a person's `make cluster-up`) and is not hit by that terminal's signals.
func (c *Cluster) launch(comp component) error {
	for _, d := range []string{"run", "logs"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			return fmt.Errorf("create %s dir: %w", d, err)
		}
	}
	logf, err := os.OpenFile(c.logFile(comp.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log of %s: %w", comp.name, err)
	}
	defer logf.Close()
	cmd := exec.Command(comp.path, comp.args...)
	cmd.Env = append(os.Environ(), comp.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = c.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (%s): %w", comp.name, comp.path, err)
	}
	pid := cmd.Process.Pid
	// Reap the child if it exits while this process still runs; otherwise init adopts it.
	go func() { _ = cmd.Wait() }()
	if err := os.WriteFile(c.pidFile(comp.name), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("write pid file of %s: %w", comp.name, err)
	}
	c.log.Debug("started component", "component", comp.name, "pid", pid)
	return nil
}

// running reports the pid of the component if its pid file names a live process that belongs to
// this cluster. A stale pid file (the process died, or the pid was reused by an unrelated program)
// reports false.
func (c *Cluster) running(name string) (int, bool) {
	data, err := os.ReadFile(c.pidFile(name))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, c.ownsProcess(pid)
}

// ownsProcess tells whether pid is a live, non-zombie process whose command line mentions this
// cluster's directory: every component is started with a path under it. A live process whose
// command line cannot be read at this instant (it is exiting, or the VM's /proc lags) counts as
// ours: a pid reused by another program shows that program's command line.
func (c *Cluster) ownsProcess(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return len(cmdline) == 0 || bytes.Contains(cmdline, []byte(c.Dir+"/"))
}

// stop ends the component: SIGTERM, then SIGKILL after grace. It removes the pid file either way.
func (c *Cluster) stop(name string, grace time.Duration) error {
	defer os.Remove(c.pidFile(name))
	pid, ok := c.running(name)
	if !ok {
		return nil
	}
	began := time.Now()
	err := c.killProcess(pid, grace)
	c.log.Debug("stopped component", "component", name, "pid", pid, "elapsed", time.Since(began).Round(time.Millisecond), "error", err)
	return err
}

// stopAll stops several components at once: each may take seconds to shut down gracefully.
func (c *Cluster) stopAll(grace time.Duration, names ...string) error {
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { errs[i] = c.stop(name, grace) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Cluster) killProcess(pid int, grace time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !c.ownsProcess(pid) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill pid %d: %w", pid, err)
	}
	for i := 0; i < 100 && c.ownsProcess(pid); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if c.ownsProcess(pid) {
		return fmt.Errorf("pid %d did not exit after SIGKILL", pid)
	}
	return nil
}

// shimProcesses lists the containerd shims of this cluster's node: they name its containerd socket.
func (c *Cluster) shimProcesses() []int {
	var pids []int
	for _, pid := range c.strayProcesses() {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.Contains(filepath.Base(exe), "containerd-shim") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// strayProcesses lists live processes, other than this one, whose command line mentions the
// cluster's directory: container shims and anything a crashed run left without a pid file.
func (c *Cluster) strayProcesses() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(cmdline) > 0 && c.ownsProcess(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Pid returns the process id of a running component (etcd, kube-apiserver, kubelet, ...).
func (c *Cluster) Pid(component string) (int, bool) { return c.running(component) }

// tailLog returns the last n lines of a component's log, for error messages.
func (c *Cluster) tailLog(name string, n int) string {
	data, err := os.ReadFile(c.logFile(name))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// processReport describes what the pid file of a component names, for error messages.
func (c *Cluster) processReport(name string) string {
	data, err := os.ReadFile(c.pidFile(name))
	if err != nil {
		return "no pid file"
	}
	pid := strings.TrimSpace(string(data))
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "pid " + pid + " is gone"
	}
	if len(stat) > 60 {
		stat = stat[:60]
	}
	return "pid " + pid + ": " + string(stat)
}
