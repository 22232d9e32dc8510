package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Measured is one command's run: how long it took, the CPU time it used (user and system), its
// peak RSS and what it printed.
type Measured struct {
	Wall       time.Duration
	CPU        time.Duration
	PeakRSSKiB int64
	Stdout     []byte
}

// Measure runs bin as its own process, so that its peak RSS is its own, with env added to this
// process's environment. An error carries the command's standard error.
func Measure(ctx context.Context, env []string, bin string, args ...string) (Measured, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	m := Measured{Wall: time.Since(began), Stdout: stdout.Bytes()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.PeakRSSKiB = ru.Maxrss
		}
		m.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return m, fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return m, nil
}

// CairnBinary is the absolute path of the cairn binary a benchmark measures, which must exist.
func CairnBinary(path string) (string, error) {
	bin, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s not found: run make build first", bin)
	}
	return bin, nil
}
