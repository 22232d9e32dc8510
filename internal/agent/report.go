package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// Log levels of a job's log lines.
const (
	levelInfo  = "info"
	levelWarn  = "warn"
	levelError = "error"
)

// Bounds that keep what the agent holds and sends in check: the vault refuses request bodies over
// 1 MiB.
const (
	// maxPendingLogs bounds the log lines held while the vault cannot be reached; older ones are
	// dropped first and their number reported.
	maxPendingLogs = 2000
	// maxLogMessage bounds one log line.
	maxLogMessage = 8 << 10
	// maxReportLogBytes bounds the log lines of one progress report or completion.
	maxReportLogBytes = 256 << 10
	// logLineOverhead estimates a log line's JSON beyond its message.
	logLineOverhead = 80
)

// Why a job's context was cancelled, other than the agent stopping.
var (
	errCancelRequested = errors.New("cancelled on request (the vault asked the agent to stop the job)")
	errLeaseLost       = errors.New("the vault no longer considers this agent the job's owner (lease lost)")
)

// reporter gathers a job's progress and log lines and sends them to the vault in batches.
type reporter struct {
	now  func() time.Time
	wake chan struct{}

	mu       sync.Mutex
	progress agentv1.JobProgress
	logs     []agentv1.LogLine
	dropped  int
}

func newReporter(now func() time.Time) *reporter {
	return &reporter{now: now, wake: make(chan struct{}, 1)}
}

// add queues a log line for the vault.
func (r *reporter) add(level, msg string) {
	if len(msg) > maxLogMessage {
		msg = msg[:maxLogMessage] + " ... (truncated)"
	}
	r.mu.Lock()
	if len(r.logs) >= maxPendingLogs {
		r.logs = r.logs[1:]
		r.dropped++
	}
	r.logs = append(r.logs, agentv1.LogLine{Time: r.now().UTC(), Level: level, Message: msg})
	r.mu.Unlock()
	r.poke()
}

// setProgress records how far the job got; it is sent with the next report.
func (r *reporter) setProgress(p agentv1.JobProgress) {
	r.mu.Lock()
	r.progress = p
	r.mu.Unlock()
}

// take returns the progress and the pending log lines, which it hands over, up to
// maxReportLogBytes of them; more tells whether others wait.
func (r *reporter) take() (progress agentv1.JobProgress, logs []agentv1.LogLine, more bool) {
	select {
	case <-r.wake: // what woke the loop is taken now; lines added from here on wake it again
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dropped > 0 {
		logs = append(logs, agentv1.LogLine{Time: r.now().UTC(), Level: levelWarn,
			Message: fmt.Sprintf("%d log lines were dropped while the vault could not be reached", r.dropped)})
		r.dropped = 0
	}
	size, n := 0, 0
	for _, l := range r.logs {
		if size += len(l.Message) + logLineOverhead; size > maxReportLogBytes && n > 0 {
			break
		}
		n++
	}
	logs = append(logs, r.logs[:n]...)
	r.logs = r.logs[n:]
	if len(r.logs) == 0 {
		r.logs = nil
	}
	return r.progress, logs, len(r.logs) > 0
}

// giveBack puts log lines that could not be sent back in front of the pending ones.
func (r *reporter) giveBack(logs []agentv1.LogLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(logs, r.logs...)
	if over := len(r.logs) - maxPendingLogs; over > 0 {
		r.logs = r.logs[over:]
		r.dropped += over
	}
}

// loop sends a report at once, then every ProgressEvery and soon after new log lines, until stop
// is closed or ctx ends. A report on its way when stop closes is finished, not abandoned: the
// vault may already have stored its log lines, and sending them again in the completion would
// log them twice. A reply that asks to cancel cancels the job with errCancelRequested; an answer
// saying the job is no longer this agent's cancels it with errLeaseLost and ends the loop.
func (r *reporter) loop(ctx context.Context, stop <-chan struct{}, a *agent, job *agentv1.Job, log *slog.Logger, cancelJob context.CancelCauseFunc) {
	tick := time.NewTicker(a.opts.ProgressEvery)
	defer tick.Stop()
	failing := false
	for first := true; ; first = false {
		wake := r.wake
		if failing {
			wake = nil // while the vault fails, retry on the ticker only
		}
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-stop:
				return
			case <-tick.C:
			case <-wake:
				select { // let the lines that follow join the batch
				case <-ctx.Done():
					return
				case <-stop:
					return
				case <-time.After(a.t.batchWindow):
				}
			}
		}
		reply, more, err := r.send(ctx, a, job)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			switch s := client.StatusOf(err); {
			case s == http.StatusNotFound || s == http.StatusConflict || s == http.StatusUnauthorized:
				log.Error("stopping the job: the vault no longer considers this agent its owner; it will not be completed",
					"error", err.Error())
				cancelJob(errLeaseLost)
				return
			case !client.Transient(err):
				log.Error("the vault refused a progress report; its log lines are dropped", "error", err.Error())
			case !failing:
				log.Warn("progress report failed; the job goes on and the report is retried", "error", err.Error())
			}
			failing = true
			continue
		}
		if failing {
			log.Info("progress reports accepted again")
		}
		failing = false
		if reply.Cancel {
			log.Info("the vault asked to cancel the job")
			cancelJob(errCancelRequested)
		}
		if more {
			r.poke()
		}
		tick.Reset(a.opts.ProgressEvery)
	}
}

// send sends one progress report. The log lines of a report that failed on the way wait for the
// next one; those of a report the vault refused are dropped.
func (r *reporter) send(ctx context.Context, a *agent, job *agentv1.Job) (agentv1.ProgressReply, bool, error) {
	progress, logs, more := r.take()
	reply, err := a.vault.Progress(ctx, job.ID, agentv1.ProgressReport{Progress: progress, Logs: logs})
	if err != nil && client.Transient(err) {
		r.giveBack(logs)
	}
	return reply, more, err
}

// flush sends the pending log lines that would not fit in the completion, while the vault takes
// them.
func (r *reporter) flush(ctx context.Context, a *agent, job *agentv1.Job) {
	for range 16 {
		if !r.morePending(maxReportLogBytes) {
			return
		}
		if _, _, err := r.send(ctx, a, job); err != nil {
			return
		}
	}
}

// morePending tells whether the pending log lines exceed limit bytes.
func (r *reporter) morePending(limit int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := 0
	for _, l := range r.logs {
		size += len(l.Message) + logLineOverhead
	}
	return size > limit
}

func (r *reporter) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// teeHandler sends a job's log records to the agent's log and, from Info up, to the job's log in
// the vault. The agent's handler carries the job's fixed keys; the vault's lines do not repeat them.
type teeHandler struct {
	agent  slog.Handler
	rep    *reporter
	attrs  []slog.Attr
	prefix string // group prefix for the vault's lines
}

func newJobLogger(agentLog *slog.Logger, rep *reporter) *slog.Logger {
	return slog.New(&teeHandler{agent: agentLog.Handler(), rep: rep})
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.agent.Enabled(ctx, l)
}

func (h *teeHandler) Handle(ctx context.Context, rec slog.Record) error {
	var err error
	if h.agent.Enabled(ctx, rec.Level) {
		err = h.agent.Handle(ctx, rec.Clone())
	}
	if rec.Level < slog.LevelInfo {
		return err
	}
	var b strings.Builder
	b.WriteString(rec.Message)
	write := func(prefix string, a slog.Attr) {
		if !a.Equal(slog.Attr{}) {
			fmt.Fprintf(&b, " %s%s=%s", prefix, a.Key, quoteIfNeeded(a.Value.Resolve().String()))
		}
	}
	for _, a := range h.attrs {
		write("", a) // already prefixed
	}
	rec.Attrs(func(a slog.Attr) bool {
		write(h.prefix, a)
		return true
	})
	level := levelInfo
	switch {
	case rec.Level >= slog.LevelError:
		level = levelError
	case rec.Level >= slog.LevelWarn:
		level = levelWarn
	}
	h.rep.add(level, b.String())
	return err
}

func (h *teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.agent = h.agent.WithAttrs(attrs)
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), prefixed(h.prefix, attrs)...)
	return &c
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.agent = h.agent.WithGroup(name)
	c.prefix = h.prefix + name + "."
	return &c
}

func prefixed(prefix string, attrs []slog.Attr) []slog.Attr {
	if prefix == "" {
		return attrs
	}
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return fmt.Sprintf("%q", s)
	}
	return s
}
