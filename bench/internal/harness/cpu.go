package harness

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux architecture Go
// builds for (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

// ProcessCPU is the CPU time, user and system, that process pid has used so far.
func ProcessCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("CPU time of process %d: %w", pid, err)
	}
	// The command name, field 2, is in parentheses and may hold spaces: count fields after it.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("CPU time of process %d: unexpected /proc stat %q", pid, stat)
	}
	fields := bytes.Fields(stat[end+1:])
	const utime, stime = 11, 12 // fields 14 and 15 of proc(5), counted from field 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("CPU time of process %d: unexpected /proc stat %q", pid, stat)
	}
	var ticks int64
	for _, f := range [][]byte{fields[utime], fields[stime]} {
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("CPU time of process %d: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// CPUMeter measures the CPU time a set of processes (the servers a tool talks to) spend while it
// runs.
type CPUMeter struct {
	pids  []int
	start time.Duration
}

// StartCPUMeter reads the processes' CPU time so far.
func StartCPUMeter(pids ...int) (*CPUMeter, error) {
	m := &CPUMeter{pids: pids}
	var err error
	m.start, err = m.total()
	return m, err
}

// Used is the CPU time the processes spent since the meter started.
func (m *CPUMeter) Used() (time.Duration, error) {
	now, err := m.total()
	return now - m.start, err
}

func (m *CPUMeter) total() (time.Duration, error) {
	var sum time.Duration
	for _, pid := range m.pids {
		t, err := ProcessCPU(pid)
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

// ProcessTreeCPU is the CPU time process pid and its live descendants (plugins it started, say)
// have used so far.
func ProcessTreeCPU(pid int) (time.Duration, error) {
	sum, err := ProcessCPU(pid)
	if err != nil {
		return 0, err
	}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, f := range bytes.Fields(children) {
			child, err := strconv.Atoi(string(f))
			if err != nil {
				continue
			}
			if t, err := ProcessTreeCPU(child); err == nil { // a child that just exited is gone
				sum += t
			}
		}
	}
	return sum, nil
}
