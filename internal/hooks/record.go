package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/cairnbackup/cairn/api/v1alpha1"
	"github.com/cairnbackup/cairn/internal/archive"
)

// outputLimit is how much of a command's stdout and stderr an execution keeps: the last 4 KiB.
const outputLimit = 4 << 10

// engine runs and records hook commands; both runners share it.
type engine struct {
	exec Executor
	now  func() time.Time
	log  *slog.Logger
}

func newEngine(exec Executor, now func() time.Time, log *slog.Logger) engine {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return engine{exec: exec, now: now, log: log}
}

// begin starts the record of step s in pod.
func (e engine) begin(phase string, pod *corev1.Pod, s step) archive.HookExecution {
	return archive.HookExecution{
		Hook: s.rule, Phase: phase, Namespace: pod.Namespace, Pod: pod.Name, Container: s.container,
		Command: s.command, OnError: string(s.onError), StartedAt: e.now(), ExitCode: -1,
	}
}

// end completes x with its duration and logs it.
func (e engine) end(ctx context.Context, x *archive.HookExecution) {
	d := e.now().Sub(x.StartedAt)
	x.DurationSeconds = d.Seconds()
	e.log.InfoContext(ctx, "hook executed", "hook", x.Hook, "phase", x.Phase, "namespace", x.Namespace, "pod", x.Pod,
		"container", x.Container, "outcome", x.Outcome, "exitCode", x.ExitCode, "duration", d, "error", x.Error)
}

// notRun records step s as not run, for why.
func (e engine) notRun(ctx context.Context, phase string, pod *corev1.Pod, s step, container, why string) archive.HookExecution {
	x := e.begin(phase, pod, s)
	x.Container, x.Outcome, x.Error = container, archive.HookNotRun, why
	e.end(ctx, &x)
	return x
}

// run runs step s in pod, bounded by its timeout, and records it.
func (e engine) run(ctx context.Context, phase string, pod *corev1.Pod, s step) (x archive.HookExecution) {
	x = e.begin(phase, pod, s)
	defer e.end(ctx, &x)
	container, err := containerFor(pod, s.container)
	x.Container = container
	if err != nil {
		x.Outcome, x.Error = archive.HookFailed, err.Error()
		return x
	}
	var stdout, stderr tail
	execCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	code, err := e.exec.Exec(execCtx, pod.Namespace, pod.Name, container, s.command, &stdout, &stderr)
	x.Stdout, x.Stderr = stdout.String(), stderr.String()
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(execCtx.Err(), context.DeadlineExceeded):
		x.Outcome, x.Error = archive.HookTimedOut, fmt.Sprintf("did not finish within %s", s.timeout)
	case err != nil:
		x.Outcome, x.Error = archive.HookFailed, err.Error()
	case code != 0:
		x.ExitCode, x.Outcome, x.Error = code, archive.HookFailed, exitMessage(code, x.Stderr)
	default:
		x.ExitCode, x.Outcome = 0, archive.HookSucceeded
	}
	return x
}

// exitMessage says a command exited non-zero, with the last line of its stderr.
func exitMessage(code int, stderr string) string {
	msg := fmt.Sprintf("exited with code %d", code)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		if len(last) > 200 {
			last = last[:200] + "..."
		}
		msg += ": " + last
	}
	return msg
}

// failure describes a failed execution for an error or a warning.
func failure(x archive.HookExecution) string {
	what := "failed"
	if x.Outcome == archive.HookNotRun {
		what = "not run"
	}
	return fmt.Sprintf("%s-hook %s in pod %s/%s container %s, command %q, %s: %s",
		x.Phase, x.Hook, x.Namespace, x.Pod, x.Container, x.Command, what, x.Error)
}

// podResult is what running the hooks of one pod produced.
type podResult struct {
	execs    []archive.HookExecution
	warnings []string
	errs     []error
}

// add records x and files its failure as an error (onError Fail) or a warning (Continue). It
// tells whether x failed.
func (p *podResult) add(x archive.HookExecution) bool {
	p.execs = append(p.execs, x)
	if x.Outcome == archive.HookSucceeded {
		return false
	}
	if x.OnError == string(v1alpha1.HookErrorFail) {
		p.errs = append(p.errs, errors.New(failure(x)))
	} else {
		p.warnings = append(p.warnings, failure(x)+" (onError Continue)")
	}
	return true
}

// merge concatenates results in order.
func merge(results []podResult) ([]archive.HookExecution, []string, error) {
	var all podResult
	for _, r := range results {
		all.execs = append(all.execs, r.execs...)
		all.warnings = append(all.warnings, r.warnings...)
		all.errs = append(all.errs, r.errs...)
	}
	return all.execs, all.warnings, errors.Join(all.errs...)
}

// forEachPod calls fn(i) for i in [0, n), at most maxParallelPods at a time, and waits.
func forEachPod(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelPods)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

// tail is a writer that keeps the last outputLimit bytes written, cut at a character boundary.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - outputLimit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return string(b)
}
