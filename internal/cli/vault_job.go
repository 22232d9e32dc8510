package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/usecase"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// newVaultObjectCommands are the command groups of the vault's objects beside policy: instances,
// recovery points, jobs, usage and the audit log (cluster verbs join the cluster group).
func newVaultObjectCommands(env Env) []*cobra.Command {
	return []*cobra.Command{newInstanceCommand(env), newRecoveryPointCommand(env), newJobCommand(env),
		newUsageCommand(env), newAuditCommand(env), newNotificationCommand(env)}
}

func newJobCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "job", Short: "The vault's jobs: backups, restores and deletions the agents run"}
	cmd.AddCommand(newJobListCommand(env), newJobShowCommand(env), newJobLogsCommand(env), newJobCancelCommand(env))
	return cmd
}

func newJobListCommand(env Env) *cobra.Command {
	var f client.JobFilter
	var more bool
	cmd := vaultVerb[[]vaultv1.Job]{
		check: func([]string) error {
			return errors.Join(checkChoice("state", f.State, vaultv1.JobStates), checkChoice("kind", f.Kind, agentv1.Kinds), checkLimit(f.Limit))
		},
		call: func(ctx context.Context, c *client.Client, _ []string) (jobs []vaultv1.Job, err error) {
			jobs, more, err = collect(f.Limit, func(limit int, cursor string) (vaultv1.List[vaultv1.Job], error) {
				g := f
				g.Limit, g.Cursor = limit, cursor
				return c.ListJobs(ctx, g)
			})
			return jobs, err
		},
		text: func(out io.Writer, jobs []vaultv1.Job) error {
			t := newTable(out)
			fmt.Fprintln(t, "ID\tKIND\tINSTANCE\tCLUSTER\tSTATE\tTRIGGER\tCREATED\tDURATION\tPROGRESS\tERROR")
			for _, j := range jobs {
				fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Kind, j.Instance, j.Cluster, jobState(j), j.Trigger,
					formatTime(&j.CreatedAt), jobDuration(j, env.now()), describeProgress(j.Progress), oneLine(j.Error, 60))
			}
			if err := t.Flush(); err != nil {
				return err
			}
			noteMore(env.Stderr, more, len(jobs), "jobs")
			return nil
		},
	}.build(env, &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first",
		Example: `  cairn job list --state running
  cairn job list --instance shop-nightly --kind backup --limit 10`,
		Args: cobra.NoArgs,
	})
	fl := cmd.Flags()
	fl.StringVar(&f.State, "state", "", "only jobs in this state: "+strings.Join(vaultv1.JobStates, ", "))
	fl.StringVar(&f.Kind, "kind", "", "only jobs of this kind: "+strings.Join(agentv1.Kinds, ", "))
	fl.StringVar(&f.Instance, "instance", "", "only the jobs of this instance")
	fl.StringVar(&f.Cluster, "cluster", "", "only the jobs run in this cluster")
	fl.IntVar(&f.Limit, "limit", 100, "show at most this many jobs")
	return cmd
}

// jobVerb is a verb on the job named by its one argument.
func jobVerb(env Env, cmd *cobra.Command, call func(ctx context.Context, c *client.Client, id int64) (vaultv1.Job, error),
	text func(io.Writer, vaultv1.Job) error) *cobra.Command {
	var id int64
	cmd.Args = cobra.ExactArgs(1)
	return vaultVerb[vaultv1.Job]{
		check: func(args []string) (err error) {
			id, err = parseJobID(args[0])
			return err
		},
		call: func(ctx context.Context, c *client.Client, _ []string) (vaultv1.Job, error) { return call(ctx, c, id) },
		text: text,
	}.build(env, cmd)
}

func newJobShowCommand(env Env) *cobra.Command {
	return jobVerb(env, &cobra.Command{Use: "show ID", Short: "Show a job: its state, progress, timings, error and result"},
		func(ctx context.Context, c *client.Client, id int64) (vaultv1.Job, error) { return c.GetJob(ctx, id) },
		func(out io.Writer, j vaultv1.Job) error {
			printJob(out, j, env.now())
			return nil
		})
}

func newJobLogsCommand(env Env) *cobra.Command {
	var output string
	var follow bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a job's log; --follow prints new lines until the job ends",
		Long: `Print a job's log. With --follow it keeps printing new lines until the job ends, then exits
non-zero if the job did not succeed. -o json and -o yaml print each line as one JSON object per line
or one YAML document.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := checkInterval(interval); err != nil {
				return err
			}
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			c, err := vaultClient(env)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			emit := func(l vaultv1.LogLine) error { return printLogLine(out, output, l) }
			var after int64
			if !follow {
				_, err := fetchLogs(ctx, c, id, &after, emit)
				return err
			}
			w := jobWatch{c: c, stderr: io.Discard, interval: interval, logs: emit}
			j, err := w.wait(ctx, id)
			if err != nil {
				return err
			}
			return jobOutcome(j)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until the job ends")
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table (plain lines), json or yaml")
	registerPollInterval(cmd, &interval)
	return cmd
}

func newJobCancelCommand(env Env) *cobra.Command {
	return jobVerb(env, &cobra.Command{Use: "cancel ID", Short: "Cancel a job: a queued one at once, a running one when its agent next reports"},
		func(ctx context.Context, c *client.Client, id int64) (vaultv1.Job, error) {
			return c.CancelJob(ctx, id)
		},
		func(out io.Writer, j vaultv1.Job) error {
			if j.State == vaultv1.JobCancelled {
				_, err := fmt.Fprintf(out, "cancelled %s job %d\n", j.Kind, j.ID)
				return err
			}
			_, err := fmt.Fprintf(out, "asked the agent to cancel %s job %d (%s); it stops at its next report: cairn job show %d\n", j.Kind, j.ID, j.State, j.ID)
			return err
		})
}

// parseJobID reads a job ID argument.
func parseJobID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("job ID %q: use the number cairn job list shows", s)
	}
	return id, nil
}

// checkChoice accepts an empty value or one of choices for --flag.
func checkChoice(flag, value string, choices []string) error {
	if value == "" || slices.Contains(choices, value) {
		return nil
	}
	return fmt.Errorf("--%s %q: use %s", flag, value, humanize.OrList(choices))
}

func checkLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("--limit %d: use a positive number", limit)
	}
	return nil
}

// maxPage is the largest page the vault serves.
const maxPage = 1000

// collect pages through a list until it has limit items (0: all of them) or the list ends; more
// reports whether items were left.
func collect[T any](limit int, page func(limit int, cursor string) (vaultv1.List[T], error)) (items []T, more bool, err error) {
	items = []T{}
	cursor := ""
	for {
		n := maxPage
		if limit > 0 {
			n = min(limit-len(items), maxPage)
		}
		l, err := page(n, cursor)
		if err != nil {
			return nil, false, err
		}
		items = append(items, l.Items...)
		if limit > 0 && len(items) >= limit {
			return items[:limit], l.Next != "" || len(items) > limit, nil
		}
		if l.Next == "" || l.Next == cursor || len(l.Items) == 0 {
			return items, false, nil
		}
		cursor = l.Next
	}
}

// noteMore tells on stderr that a list was cut at --limit.
func noteMore(stderr io.Writer, more bool, shown int, what string) {
	if more {
		fmt.Fprintf(stderr, "showing the newest %d %s; there are more (--limit)\n", shown, what)
	}
}

func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// jobState is the job's state, marked when a cancellation is pending.
func jobState(j vaultv1.Job) string {
	if j.CancelRequested && j.State == vaultv1.JobRunning {
		return j.State + " (cancelling)"
	}
	return j.State
}

func jobDuration(j vaultv1.Job, now time.Time) string {
	if j.StartedAt == nil {
		return "-"
	}
	end := now
	if j.FinishedAt != nil {
		end = *j.FinishedAt
	}
	return end.Sub(*j.StartedAt).Round(time.Second).String()
}

func describeProgress(p vaultv1.JobProgress) string {
	if p.Items == 0 && p.Bytes == 0 {
		return "-"
	}
	return fmt.Sprintf("%d items, %s", p.Items, humanize.Bytes(p.Bytes))
}

// oneLine shortens s to one line of at most n runes for a table cell.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func printJob(out io.Writer, j vaultv1.Job, now time.Time) {
	fmt.Fprintf(out, "job %d: %s %s\n", j.ID, j.Kind, jobState(j))
	if j.Instance != "" {
		fmt.Fprintf(out, "  instance:   %s\n", j.Instance)
	}
	fmt.Fprintf(out, "  cluster:    %s\n", j.Cluster)
	switch s := j.Spec; {
	case s.Backup != nil:
		fmt.Fprintf(out, "  makes:      recovery point %s\n", s.Backup.RecoveryPoint)
	case s.Restore != nil:
		fmt.Fprintf(out, "  restores:   recovery point %s (from cluster %s)\n", s.Restore.RecoveryPoint, s.Restore.SourceCluster)
	case s.Delete != nil:
		fmt.Fprintf(out, "  deletes:    recovery point %s (%s)\n", s.Delete.RecoveryPoint, s.Delete.Reason)
	case s.Verify != nil:
		fmt.Fprintf(out, "  verifies:   recovery point %s (%s)\n", s.Verify.RecoveryPoint, orDefault(s.Verify.Level, vaultv1.VerifyData))
	}
	who := j.Trigger
	if j.CreatedBy != "" {
		who += " by " + j.CreatedBy
	}
	fmt.Fprintf(out, "  trigger:    %s, attempt %d\n", who, j.Attempt)
	fmt.Fprintf(out, "  created:    %s\n  started:    %s\n  finished:   %s\n  duration:   %s\n",
		formatTime(&j.CreatedAt), formatTime(j.StartedAt), formatTime(j.FinishedAt), jobDuration(j, now))
	progress := describeProgress(j.Progress)
	if j.Progress.Message != "" {
		progress += "  " + j.Progress.Message
	}
	fmt.Fprintf(out, "  progress:   %s\n", progress)
	if j.Error != "" {
		fmt.Fprintf(out, "  error:      %s\n", j.Error)
	}
	printJobResult(out, j.Result)
}

// printVaultChecks writes the checks a job reported through the vault, as printChecks does.
func printVaultChecks(out io.Writer, indent string, checks []vaultv1.Check) {
	cs := make([]usecase.Check, len(checks))
	for i, c := range checks {
		cs[i] = usecase.Check(c)
	}
	printChecks(out, indent, cs)
}

// printJobResult writes what a finished job reports: its recovery point or restore summary, the
// pre-flight checks, warnings and errors.
func printJobResult(out io.Writer, r *vaultv1.JobResult) {
	if r == nil {
		return
	}
	if rp := r.RecoveryPoint; rp != nil {
		fmt.Fprintf(out, "  recovery point %s: %s\n", rp.Name, rp.Phase)
		fmt.Fprintf(out, "    items:    %d in %d namespaces\n    size:     %s raw, %s stored\n", rp.Items, len(rp.Namespaces),
			humanize.Bytes(rp.RawBytes), humanize.Bytes(rp.StoredBytes))
		if rp.Volumes > 0 || rp.VolumesFailed > 0 {
			fmt.Fprintf(out, "    volumes:  %d snapshotted (%s), %d failed\n", rp.Volumes, humanize.Bytes(rp.SnapshotBytes), rp.VolumesFailed)
		}
		if rp.ExpiresAt != nil {
			fmt.Fprintf(out, "    expires:  %s\n", formatTime(rp.ExpiresAt))
		}
	}
	if s := r.Restore; s != nil {
		printRestoreSummary(out, s)
	}
	if v := r.Verify; v != nil {
		fmt.Fprintf(out, "  verified:   %s: %s\n", v.Level, describeVerifyResult(*v))
	}
	printVaultChecks(out, "  ", r.Checks)
	for _, w := range r.Warnings {
		fmt.Fprintf(out, "  warning: %s\n", w)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(out, "  error:   %s\n", e)
	}
}

// printLogLine writes one log line in the output format: a plain line, a JSON object on one line
// or a YAML document.
func printLogLine(out io.Writer, format string, l vaultv1.LogLine) error {
	switch format {
	case outputJSON:
		data, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("encode log line: %w", err)
		}
		_, err = fmt.Fprintf(out, "%s\n", data)
		return err
	case outputYAML:
		data, err := yaml.Marshal(l)
		if err != nil {
			return fmt.Errorf("encode log line: %w", err)
		}
		_, err = fmt.Fprintf(out, "---\n%s", data)
		return err
	}
	_, err := fmt.Fprintf(out, "%s %-5s %s\n", l.Time.Format(time.RFC3339), l.Level, l.Message)
	return err
}

// fetchLogs prints the job's log lines after *after and advances it; it reports how many it printed.
func fetchLogs(ctx context.Context, c *client.Client, id int64, after *int64, emit func(vaultv1.LogLine) error) (int, error) {
	n := 0
	for {
		page, err := c.JobLogs(ctx, id, client.LogFilter{After: *after, Limit: maxPage})
		if err != nil {
			return n, err
		}
		for _, l := range page.Items {
			if l.Seq <= *after {
				continue // the vault sent a line again; print each once
			}
			if err := emit(l); err != nil {
				return n, err
			}
			*after = l.Seq
			n++
		}
		if len(page.Items) == 0 || (page.Next == "" && len(page.Items) < maxPage) {
			return n, nil
		}
	}
}

// finished reports whether a job is in an end state.
func finished(state string) bool {
	switch state {
	case vaultv1.JobSucceeded, vaultv1.JobPartiallyFailed, vaultv1.JobFailed, vaultv1.JobCancelled:
		return true
	}
	return false
}

// jobOutcome is nil for a succeeded job and an error saying how it ended otherwise.
func jobOutcome(j vaultv1.Job) error {
	if j.State == vaultv1.JobSucceeded {
		return nil
	}
	why := j.Error
	if why == "" && j.Result != nil && len(j.Result.Errors) > 0 {
		why = strings.Join(j.Result.Errors, "; ")
	}
	if why == "" {
		why = "the job gave no reason"
	}
	return fmt.Errorf("%s job %d %s: %s (cairn job show %d, cairn job logs %d)", j.Kind, j.ID, j.State, why, j.ID, j.ID)
}

// defaultPollInterval is how often --wait and --follow ask the vault about a job.
const defaultPollInterval = time.Second

// registerPollInterval adds the hidden --poll-interval flag (tests shorten it).
func registerPollInterval(cmd *cobra.Command, interval *time.Duration) {
	cmd.Flags().DurationVar(interval, "poll-interval", defaultPollInterval, "how often to ask the vault about the job")
	_ = cmd.Flags().MarkHidden("poll-interval")
}

func checkInterval(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--poll-interval %s: use a positive duration like 1s", d)
	}
	return nil
}

// jobWatch follows a job until it ends: its progress on a progress line on stderr, each new log
// line through logs (default: written to stderr).
type jobWatch struct {
	c        *client.Client
	stderr   io.Writer
	interval time.Duration
	logs     func(vaultv1.LogLine) error
}

// wait polls the job every interval until it ends and returns it as it ended. If ctx ends first
// the job goes on in the vault; the error says how to find it.
func (w jobWatch) wait(ctx context.Context, id int64) (vaultv1.Job, error) {
	bar := newProgressLine(w.stderr)
	defer bar.done()
	logs := w.logs
	if logs == nil {
		logs = func(l vaultv1.LogLine) error {
			bar.done()
			return printLogLine(w.stderr, outputTable, l)
		}
	}
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	var after int64
	for {
		j, err := w.c.GetJob(ctx, id)
		if err != nil {
			return j, stillRunning(ctx, id, err)
		}
		// The logs are read after the job: once it has ended, they are complete.
		if _, err := fetchLogs(ctx, w.c, id, &after, logs); err != nil {
			return j, stillRunning(ctx, id, err)
		}
		if finished(j.State) {
			return j, nil
		}
		msg := fmt.Sprintf("%s job %d: %s", j.Kind, j.ID, jobState(j))
		if p := j.Progress; p.Items > 0 || p.Bytes > 0 || p.Message != "" {
			msg += fmt.Sprintf(", %d items, %s  %s", p.Items, humanize.Bytes(p.Bytes), p.Message)
		}
		bar.update("%s", msg)
		select {
		case <-ctx.Done():
			return j, stillRunning(ctx, id, ctx.Err())
		case <-ticker.C:
		}
	}
}

// stillRunning explains an interrupted wait: the job itself goes on.
func stillRunning(ctx context.Context, id int64, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("stopped waiting for job %d, which goes on in the vault (cairn job show %d): %w", id, id, err)
	}
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		return fmt.Errorf("follow job %d: %w", id, err)
	}
	return fmt.Errorf("follow job %d (it goes on in the vault: cairn job show %d): %w", id, id, err)
}
