package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/agent/metrics"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// jobRun is one job being run: what the vault sent, its logger (the agent's log with the job's
// fixed keys, and the job's log in the vault), its progress and the counter of its progress in
// the agent's metrics.
type jobRun struct {
	job   *agentv1.Job
	log   *slog.Logger
	rep   *reporter
	meter *metrics.Progress
}

// progress records the job's progress for the next report, and counts what it grew since the
// job's previous one in the agent's metrics.
func (j *jobRun) progress(items, bytes int64, msg string) {
	j.stageProgress("", items, bytes, msg)
}

// stageProgress is progress within a stage of a use case: the metrics count each stage's items
// and bytes apart (metrics.Progress).
func (j *jobRun) stageProgress(stage string, items, bytes int64, msg string) {
	j.meter.Report(stage, items, bytes)
	j.totals(items, bytes, msg)
}

// totals records the job's totals for the next report without counting them in the metrics: the
// stages' reports counted them as they went.
func (j *jobRun) totals(items, bytes int64, msg string) {
	j.rep.setProgress(agentv1.JobProgress{Items: items, Bytes: bytes, Message: msg})
}

// outcome is how a job ended, as the completion reports it.
type outcome struct {
	state  string
	err    string
	result *agentv1.JobResult
}

// failed is the outcome of a job that err stopped; res keeps what was learnt before.
func failed(res *agentv1.JobResult, err error) outcome {
	return outcome{state: agentv1.JobFailed, err: err.Error(), result: res}
}

// runJob runs one claimed job to its completion. The job's context ends when the agent stops,
// when the vault asks to cancel it, or when its lease is lost.
func (a *agent) runJob(ctx context.Context, job *agentv1.Job) {
	attrs := []any{"job", job.ID, "kind", job.Kind, "attempt", job.Attempt}
	if job.Instance != "" {
		attrs = append(attrs, "instance", job.Instance)
	}
	rep := newReporter(a.now)
	j := &jobRun{job: job, rep: rep, log: newJobLogger(a.log.With(attrs...), rep), meter: a.metrics.Progress(job.Kind)}
	j.log.Info("job started", "trigger", job.Trigger)
	started := a.now()
	a.metrics.JobStarted(job.Kind)
	state := metrics.StateAbandoned
	defer func() { a.metrics.JobEnded(job.Kind, state, a.now().Sub(started)) }()

	jobCtx, cancelJob := context.WithCancelCause(ctx)
	defer cancelJob(nil)
	stopLoop := make(chan struct{})
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		rep.loop(ctx, stopLoop, a, job, a.log.With(attrs...), cancelJob)
	}()

	results := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("job panicked", append(attrs, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))...)
				results <- outcome{state: agentv1.JobFailed, err: fmt.Sprintf("the agent failed unexpectedly: %v", p)}
			}
		}()
		results <- a.execute(jobCtx, j)
	}()
	var out outcome
	var cause error
	returned := true
	select {
	case out = <-results:
		if jobCtx.Err() != nil {
			cause = context.Cause(jobCtx)
		}
	case <-jobCtx.Done():
		cause = context.Cause(jobCtx)
		select {
		case out = <-results:
		case <-time.After(a.t.stopGrace):
			out, returned = outcome{state: agentv1.JobFailed}, false
			j.log.Warn("the job did not stop in time; it is reported without waiting for it", "waited", a.t.stopGrace)
		}
	}
	close(stopLoop)
	<-loopDone
	if !returned {
		// Keep the job's slot until its engine is done, so that no other job runs beside it,
		// unless the agent is stopping.
		defer func() {
			select {
			case <-results:
			case <-ctx.Done():
			}
		}()
	}

	switch {
	case errors.Is(cause, errLeaseLost):
		a.log.Warn("job abandoned: its lease was lost, so it is not completed", attrs...)
		return
	case errors.Is(cause, errCancelRequested):
		out.state, out.err = agentv1.JobCancelled, errCancelRequested.Error()
	case cause != nil && ctx.Err() != nil:
		out.state, out.err = agentv1.JobFailed, fmt.Sprintf("agent stopped: %v", context.Cause(ctx))
	}
	state = out.state
	if out.err != "" {
		j.log.Error("job finished", "state", out.state, "error", out.err)
	} else {
		j.log.Info("job finished", "state", out.state)
	}
	flushCtx, cancelFlush := context.WithTimeout(context.WithoutCancel(ctx), a.t.stopGrace)
	rep.flush(flushCtx, a, job)
	cancelFlush()
	_, logs, more := rep.take()
	if more {
		a.log.Warn("the job's last log lines did not reach the vault", attrs...)
	}
	comp := fitCompletion(agentv1.Completion{State: out.state, Error: out.err, Result: out.result, Logs: logs})
	a.complete(ctx, job, comp, attrs)
}

// complete reports a finished job, retrying while the vault cannot be reached: the result
// matters. While the agent stops, it tries for stopGrace only.
func (a *agent) complete(ctx context.Context, job *agentv1.Job, comp agentv1.Completion, attrs []any) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.t.completeFor)
	defer cancel()
	// Runs at once if the agent is already stopping.
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(a.t.stopGrace, cancel) })
	defer stop()
	backoff := a.t.retryBase
	for {
		err := a.vault.Complete(cctx, job.ID, comp)
		switch {
		case err == nil:
			a.log.Info("job completed", append(attrs, "state", comp.State)...)
			return
		case !client.Transient(err):
			msg := "the vault refused the job's completion"
			if s := client.StatusOf(err); s == http.StatusNotFound || s == http.StatusConflict {
				msg = "the vault refused the job's completion: it no longer considers this agent the job's owner"
			}
			a.log.Error(msg, append(attrs, "state", comp.State, "error", err.Error())...)
			return
		}
		a.log.Warn("cannot complete the job yet; retrying", append(attrs, "in", backoff, "error", err.Error())...)
		sleep(cctx, backoff)
		if cctx.Err() != nil {
			a.log.Error("gave up completing the job; the vault fails it when its lease expires", append(attrs, "state", comp.State)...)
			return
		}
		backoff = min(2*backoff, a.t.retryMax)
	}
}

// executeJob runs a job with the runner of its kind.
func (a *agent) executeJob(ctx context.Context, j *jobRun) outcome {
	run := a.runner(j.job.Kind)
	if run == nil {
		return failed(nil, fmt.Errorf("job %d has kind %q, which this agent (version %s) does not know: upgrade the agent", j.job.ID, j.job.Kind, a.opts.Version))
	}
	out, ok := run(ctx, j)
	if !ok {
		return failed(nil, fmt.Errorf("job %d of kind %s carries no %s spec: the vault and the agent disagree on the protocol (upgrade both to the same version)", j.job.ID, j.job.Kind, j.job.Kind))
	}
	return out
}

// runner returns the runner of the jobs of a kind (nil for a kind this agent does not run); it
// reports false when a job lacks its kind's spec.
func (a *agent) runner(kind string) func(context.Context, *jobRun) (outcome, bool) {
	switch kind {
	case agentv1.KindBackup:
		return func(ctx context.Context, j *jobRun) (outcome, bool) {
			s := j.job.Spec.Backup
			return runIf(s != nil, func() outcome { return a.runBackup(ctx, j, s) })
		}
	case agentv1.KindRestore:
		return func(ctx context.Context, j *jobRun) (outcome, bool) {
			s := j.job.Spec.Restore
			return runIf(s != nil, func() outcome { return a.runRestore(ctx, j, s) })
		}
	case agentv1.KindRetentionDelete:
		return func(ctx context.Context, j *jobRun) (outcome, bool) {
			s := j.job.Spec.Delete
			return runIf(s != nil, func() outcome { return a.runDelete(ctx, j, s) })
		}
	case agentv1.KindRetentionExpireSnapshots:
		return func(ctx context.Context, j *jobRun) (outcome, bool) {
			s := j.job.Spec.Delete
			return runIf(s != nil, func() outcome { return a.runExpireSnapshots(ctx, j, s) })
		}
	case agentv1.KindVerify:
		return func(ctx context.Context, j *jobRun) (outcome, bool) {
			s := j.job.Spec.Verify
			return runIf(s != nil, func() outcome { return a.runVerify(ctx, j, s) })
		}
	case agentv1.KindBrowse:
		return func(ctx context.Context, j *jobRun) (outcome, bool) {
			s := j.job.Spec.Browse
			return runIf(s != nil, func() outcome { return a.runBrowse(ctx, j, s) })
		}
	case agentv1.KindFetch:
		return func(ctx context.Context, j *jobRun) (outcome, bool) {
			s := j.job.Spec.Fetch
			return runIf(s != nil, func() outcome { return a.runFetch(ctx, j, s) })
		}
	case agentv1.KindValidate:
		return func(ctx context.Context, j *jobRun) (outcome, bool) {
			s := j.job.Spec.Validate
			return runIf(s != nil, func() outcome { return a.runValidate(ctx, j, s) })
		}
	case agentv1.KindTestRestore:
		return func(ctx context.Context, j *jobRun) (outcome, bool) {
			s := j.job.Spec.TestRestore
			return runIf(s != nil, func() outcome { return a.runTestRestore(ctx, j, s) })
		}
	case agentv1.KindInventory:
		return func(ctx context.Context, j *jobRun) (outcome, bool) {
			s := j.job.Spec.Inventory
			return runIf(s != nil, func() outcome { return a.runInventory(ctx, j, s) })
		}
	}
	return nil
}

func runIf(hasSpec bool, run func() outcome) (outcome, bool) {
	if !hasSpec {
		return outcome{}, false
	}
	return run(), true
}

// kinds are the job kinds this agent runs, as it announces them to the vault.
func (a *agent) kinds() []string {
	var out []string
	for _, k := range agentv1.Kinds {
		if a.runner(k) != nil {
			out = append(out, k)
		}
	}
	return out
}

// maxCompletionBytes keeps a completion under the vault's 1 MiB limit on request bodies.
const maxCompletionBytes = 900 << 10

// fitCompletion trims a completion that would be too large for the vault: the restore items'
// diffs and long texts first, then older log lines, then items, then more log lines. It copies
// what it changes.
func fitCompletion(c agentv1.Completion) agentv1.Completion {
	fits := func() bool {
		data, err := json.Marshal(c)
		return err == nil && len(data) <= maxCompletionBytes
	}
	if fits() {
		return c
	}
	note := "the job's result was trimmed to fit the vault's request size limit"
	c.Error = cut(c.Error, 4096)
	var sum *agentv1.RestoreSummary
	if c.Result != nil {
		res := *c.Result
		c.Result = &res
		res.Warnings = append(cutList(res.Warnings, maxResultLines), note)
		res.Errors = cutList(res.Errors, maxResultLines)
		for i := range res.Warnings {
			res.Warnings[i] = cut(res.Warnings[i], 1024)
		}
		for i := range res.Errors {
			res.Errors[i] = cut(res.Errors[i], 1024)
		}
		if res.Restore != nil {
			s := *res.Restore
			sum, res.Restore = &s, &s
			sum.Items = append([]agentv1.RestoreItem(nil), sum.Items...)
			for i := range sum.Items {
				sum.Items[i].Diff = ""
				sum.Items[i].Reason = cut(sum.Items[i].Reason, 512)
			}
		}
	}
	// Older log lines go first: the last ones tell how the job ended.
	for len(c.Logs) > 200 && !fits() {
		c.Logs = c.Logs[len(c.Logs)/2:]
	}
	for sum != nil && len(sum.Items) > 50 && !fits() {
		sum.Items = sum.Items[:len(sum.Items)/2]
	}
	for len(c.Logs) > 20 && !fits() {
		c.Logs = c.Logs[len(c.Logs)/2:]
	}
	if !fits() {
		c.Logs = nil
		if c.Result != nil {
			c.Result = &agentv1.JobResult{RecoveryPoint: c.Result.RecoveryPoint, Checks: c.Result.Checks, Warnings: []string{note}}
		}
	}
	return c
}

// cutList keeps the first n entries of list, saying how many more there were.
func cutList(list []string, n int) []string {
	if len(list) <= n {
		return append([]string(nil), list...)
	}
	return append(append([]string(nil), list[:n]...), fmt.Sprintf("and %d more", len(list)-n))
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + " ... (truncated)"
}
