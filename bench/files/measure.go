package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// phase is one measured step of a tool's run, in the order they run.
type phase int

const (
	phaseFirst phase = iota
	phaseUnchanged
	phaseIncremental
	phaseRestore
	numPhases
)

var phaseNames = [numPhases]string{
	"first backup (base)",
	"unchanged re-backup",
	"incremental (mut)",
	"full restore (mut)",
}

// usage is what one child process cost.
type usage struct {
	wall, cpu time.Duration
	rssKiB    int64 // peak resident set size
}

// sample is one phase of one tool in one run.
type sample struct {
	usage
	repoBytes int64 // the repository's size after the phase
}

// toolRun is one run of a tool through every phase.
type toolRun [numPhases]sample

// measureTool runs t through the phases in a fresh work directory, removed afterwards.
func measureTool(ctx context.Context, t *tool, data *dataset, dir string) (_ toolRun, err error) {
	var tr toolRun
	if err := os.RemoveAll(dir); err != nil {
		return tr, err
	}
	h := home{dir: dir, repo: filepath.Join(dir, "repo"), src: data.src}
	for _, d := range []string{h.repo, h.state()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return tr, err
		}
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = rerr
		}
	}()
	for _, args := range t.setup(h) {
		if _, _, err := t.exec(ctx, h, args); err != nil {
			return tr, err
		}
	}

	backup := func(p phase, tree string) (id string, err error) {
		if err := data.use(tree); err != nil {
			return "", err
		}
		defer func() {
			if rerr := data.putBack(); rerr != nil && err == nil {
				err = rerr
			}
		}()
		if err := warm(ctx, data.src); err != nil {
			return "", err
		}
		syscall.Sync()
		u, stdout, err := t.exec(ctx, h, t.backup(h))
		if err != nil {
			return "", err
		}
		if id, err = t.snapshotID(stdout); err != nil {
			return "", fmt.Errorf("%s: %w", phaseNames[p], err)
		}
		tr[p].usage = u
		tr[p].repoBytes, err = treeBytes(h.repo)
		fmt.Fprintf(os.Stderr, "  %-22s %7.1f s wall %7.1f s CPU %5d MiB RSS  repository %s  snapshot %s\n",
			phaseNames[p], u.wall.Seconds(), u.cpu.Seconds(), u.rssKiB>>10, mb(tr[p].repoBytes), id)
		return id, err
	}
	if _, err := backup(phaseFirst, "base"); err != nil {
		return tr, err
	}
	if _, err := backup(phaseUnchanged, "base"); err != nil {
		return tr, err
	}
	id, err := backup(phaseIncremental, "mut")
	if err != nil {
		return tr, err
	}

	target := filepath.Join(dir, "restore")
	syscall.Sync()
	u, _, err := t.exec(ctx, h, t.restore(h, id, target))
	if err != nil {
		return tr, err
	}
	tr[phaseRestore].usage = u
	if tr[phaseRestore].repoBytes, err = treeBytes(h.repo); err != nil {
		return tr, err
	}
	fmt.Fprintf(os.Stderr, "  %-22s %7.1f s wall %7.1f s CPU %5d MiB RSS  repository %s\n",
		phaseNames[phaseRestore], u.wall.Seconds(), u.cpu.Seconds(), u.rssKiB>>10, mb(tr[phaseRestore].repoBytes))
	if err := compareTrees(ctx, data.mut, target); err != nil {
		return tr, fmt.Errorf("the restored tree differs from %s: %w", data.mut, err)
	}
	fmt.Fprintf(os.Stderr, "  restore checked against %s\n", data.mut)
	return tr, os.RemoveAll(target)
}

// runChild starts bin with args and env in its own process group and waits for it, returning what it
// cost and its standard output. Cancelling ctx kills the group.
func runChild(ctx context.Context, bin string, args, env []string) (usage, []byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout bytes.Buffer
	stderr := &tail{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	// Its own process group, so that a Ctrl-C reaches only this program, which then kills the
	// tool and puts the dataset's names back; killed too should this program die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	began := time.Now()
	err := cmd.Run()
	u := usage{wall: time.Since(began)}
	if ps := cmd.ProcessState; ps != nil {
		u.cpu = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			u.rssKiB = ru.Maxrss // KiB on Linux
		}
	}
	if err != nil {
		return u, stdout.Bytes(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr)
	}
	return u, stdout.Bytes(), nil
}

// treeBytes is the sum of the sizes of the regular files under dir.
func treeBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}

// tail keeps the last bytes a tool wrote, for error messages.
type tail struct{ buf []byte }

const tailKeep = 8 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailKeep {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailKeep:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	b := t.buf
	if len(b) > tailKeep {
		b = b[len(b)-tailKeep:]
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "(no output)"
}
