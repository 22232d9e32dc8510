package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/hooks"
	"github.com/cairnbackup/cairn/internal/restore"
)

var testWording = Wording{RunnerCheck: "tester",
	Runner:     func(kv string) string { return "the tester runs it (Kubernetes " + kv + ")" },
	Credential: "the test key", Subject: "the tester", Grant: "grant it to the tester"}

// restoreCall is one call of the fake restore engine.
type restoreCall struct {
	opts     restore.Options
	readOnly bool // through the storage that drops writes
}

// fakeRestore records the engine's calls; the dry run answers dry, the restore a completed result.
func fakeRestore(r *Runner, calls *[]restoreCall, dry *restore.Result) {
	r.Engines.Restore = func(_ context.Context, _ *rest.Config, repo *archive.Repository, opts restore.Options) (*restore.Result, error) {
		_, ro := repo.Storage().(readOnly)
		*calls = append(*calls, restoreCall{opts: opts, readOnly: ro})
		if opts.DryRun {
			return dry, nil
		}
		return &restore.Result{Name: opts.Name, Phase: restore.PhaseCompleted}, nil
	}
}

func creates(n int) *restore.Result {
	r := &restore.Result{DryRun: true}
	for i := range n {
		r.Items = append(r.Items, restore.ItemResult{Resource: "configmaps", Namespace: "shop", Name: fmt.Sprint(i), Action: restore.ActionCreate})
	}
	r.Counts = countsOf(r.Items)
	return r
}

func restoreRequest() RestoreRequest {
	return RestoreRequest{Repository: ref(testKey), Restore: restore.Options{Name: "r1", Backup: "nightly-1"}, Wording: testWording}
}

func checkNames(checks []Check) string {
	var names []string
	for _, c := range checks {
		mark := "ok"
		if !c.OK {
			mark = "FAIL"
		}
		names = append(names, mark+" "+c.Name)
	}
	return strings.Join(names, ", ")
}

func TestRestoreChecksThenRestores(t *testing.T) {
	r, logs := testRunner(t, repositoryWith(t, "nightly-1", archive.PhaseCompleted))
	var calls []restoreCall
	fakeRestore(r, &calls, creates(2))
	var needed []Access
	r.Engines.MissingAccess = func(_ context.Context, _ *rest.Config, n []Access) ([]Access, error) {
		needed = n
		return nil, nil
	}
	var hookRefs []string
	r.Engines.RestoreHooks = func(_ context.Context, _ *rest.Config, refs []string, _ func() time.Time, _ *slog.Logger) (*hooks.RestoreRunner, error) {
		hookRefs = refs
		return nil, nil
	}
	req := restoreRequest()
	req.Hooks = []string{"shop/after"}
	req.SourceCluster = "prod"
	out, err := r.Restore(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := checkNames(out.Checks), "ok tester, ok storage, ok recovery-point, ok permissions, ok conflicts"; got != want {
		t.Fatalf("checks: %s, want %s", got, want)
	}
	for i, want := range []string{
		"the tester runs it (Kubernetes v1.35.4)",
		"the repository at mem:// opens with the test key",
		`recovery point "nightly-1": Completed, 2 items, taken 2025-01-02 03:04:05 UTC in cluster prod`,
		"the tester may do the 3 kinds of operation the restore needs",
		"none of the 2 objects to restore exists in the cluster",
	} {
		if out.Checks[i].Message != want {
			t.Errorf("check %s: %q, want %q", out.Checks[i].Name, out.Checks[i].Message, want)
		}
	}
	if got := fmt.Sprint(needed); got != "[create configmaps in namespace shop create namespaces create pods/exec in namespace shop]" {
		t.Errorf("needed access: %s", got)
	}
	if len(calls) != 2 || !calls[0].opts.DryRun || !calls[0].readOnly || calls[1].opts.DryRun || calls[1].readOnly {
		t.Fatalf("engine calls: %+v", calls)
	}
	if calls[0].opts.Hooks != nil || !slices.Equal(hookRefs, req.Hooks) || !calls[1].opts.Now().Equal(testClock) {
		t.Errorf("engine options: dry run %+v, restore %+v", calls[0].opts, calls[1].opts)
	}
	if out.DryRun == nil || out.Result == nil || out.Result.DryRun || out.Result.Name != "r1" {
		t.Errorf("result: %+v", out)
	}
	if !strings.Contains(logs.String(), `msg="pre-flight check passed" check=permissions message="the tester may do the 3 kinds`) {
		t.Errorf("log:\n%s", logs)
	}
}

func TestRestoreStopsAtTheFirstFailedCheck(t *testing.T) {
	allExist := withItems([]restore.ItemResult{
		{Resource: "configmaps", Namespace: "shop", Name: "cm-0", Action: restore.ActionSkip, Reason: "already exists (conflict policy skip)"}})
	allExist.DryRun = true
	for _, tc := range []struct {
		name   string
		phase  string
		change func(*Runner, *RestoreRequest)
		dry    *restore.Result
		checks string
		want   string
	}{
		{name: "unreadable secret", checks: "ok tester, FAIL storage", want: "secret missing",
			change: func(_ *Runner, req *RestoreRequest) {
				req.Repository.Credential = func() (archive.Credential, error) { return archive.Credential{}, errors.New("secret missing") }
			}},
		{name: "wrong key", checks: "ok tester, FAIL storage", want: "explained: open the repository at mem://: " + archive.ErrWrongKey.Error(),
			change: func(_ *Runner, req *RestoreRequest) { req.Repository = ref(wrongKey) }},
		{name: "no such recovery point", checks: "ok tester, ok storage, FAIL recovery-point", want: "backup not found: \"nightly-9\" (list backups with `cairn backup list`)",
			change: func(_ *Runner, req *RestoreRequest) { req.Restore.Backup = "nightly-9" }},
		{name: "failed recovery point", phase: archive.PhaseFailed, checks: "ok tester, ok storage, FAIL recovery-point",
			want: `recovery point "nightly-1" failed (the apiserver went away): it holds nothing to restore`},
		{name: "missing permissions", checks: "ok tester, ok storage, ok recovery-point, FAIL permissions",
			want: "the tester may not create configmaps in namespace shop: grant it to the tester",
			change: func(r *Runner, _ *RestoreRequest) {
				r.Engines.MissingAccess = func(_ context.Context, _ *rest.Config, needed []Access) ([]Access, error) {
					return []Access{{Verb: "create", Resource: "configmaps", Namespace: "shop"}}, nil
				}
			}},
		{name: "access reviews fail", checks: "ok tester, ok storage, ok recovery-point, FAIL permissions",
			want: "cannot check the tester's permissions: forbidden",
			change: func(r *Runner, _ *RestoreRequest) {
				r.Engines.MissingAccess = func(context.Context, *rest.Config, []Access) ([]Access, error) {
					return nil, errors.New("forbidden")
				}
			}},
		{name: "nothing to restore", dry: allExist, checks: "ok tester, ok storage, ok recovery-point, ok permissions, FAIL conflicts",
			want: "1 of 1 objects to restore already exist in the cluster; conflict policy skip leaves them as they are: " +
				"nothing would be restored (use conflict policy patch or recreate, or a namespace mapping)"},
		{name: "dry run fails", checks: "ok tester, ok storage, ok recovery-point, ok permissions, FAIL conflicts",
			want: "the dry run failed: the cluster went away",
			change: func(r *Runner, _ *RestoreRequest) {
				r.Engines.Restore = func(context.Context, *rest.Config, *archive.Repository, restore.Options) (*restore.Result, error) {
					return nil, errors.New("the cluster went away")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			phase := tc.phase
			if phase == "" {
				phase = archive.PhaseCompleted
			}
			r, _ := testRunner(t, repositoryWith(t, "nightly-1", phase))
			var calls []restoreCall
			dry := tc.dry
			if dry == nil {
				dry = creates(1)
			}
			fakeRestore(r, &calls, dry)
			req := restoreRequest()
			if tc.change != nil {
				tc.change(r, &req)
			}
			out, err := r.Restore(t.Context(), req)
			if got := checkNames(out.Checks); got != tc.checks {
				t.Errorf("checks: %s, want %s", got, tc.checks)
			}
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Check != out.Checks[len(out.Checks)-1] || ce.Check.Message != tc.want ||
				err.Error() != fmt.Sprintf("pre-flight check %s failed: %s", ce.Check.Name, tc.want) {
				t.Errorf("error %v, want the last check failing with %q", err, tc.want)
			}
			for _, c := range calls {
				if !c.opts.DryRun {
					t.Error("the restore ran after a failed check")
				}
			}
			if out.Result != nil {
				t.Errorf("result %+v", out.Result)
			}
		})
	}
}

func TestRestoreFromAFailedRecoveryPointWhenAllowed(t *testing.T) {
	r, _ := testRunner(t, repositoryWith(t, "nightly-1", archive.PhaseFailed))
	var calls []restoreCall
	fakeRestore(r, &calls, creates(1))
	req := restoreRequest()
	req.Restore.AllowFailedBackup = true
	out, err := r.Restore(t.Context(), req)
	if err != nil || out.Checks[2].Message != `recovery point "nightly-1": Failed, 2 items, taken 2025-01-02 03:04:05 UTC in cluster (unknown)` {
		t.Errorf("checks %+v, error %v", out.Checks, err)
	}
}

func TestDryRunRestore(t *testing.T) {
	r, _ := testRunner(t, repositoryWith(t, "nightly-1", archive.PhaseCompleted))
	var calls []restoreCall
	dry := creates(2)
	fakeRestore(r, &calls, dry)
	req := restoreRequest()
	req.Restore.DryRun = true
	req.Hooks = []string{"shop/after"} // never loaded: hooks do not run in a dry run
	var stages []string
	req.Progress = func(p Progress) { stages = append(stages, p.Stage) }
	out, err := r.Restore(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	// The restore is the dry run, through the repository itself so that its result is recorded.
	if len(calls) != 1 || !calls[0].opts.DryRun || calls[0].readOnly || out.Result != dry || out.DryRun != dry || len(out.Checks) != 5 {
		t.Errorf("calls %+v, result %+v", calls, out)
	}
	if want := []string{StagePreflight, StageConflicts}; !slices.Equal(stages, want) {
		t.Errorf("progress %q, want %q", stages, want)
	}
}

func TestRestoreWithoutPreflight(t *testing.T) {
	for _, dryRun := range []bool{false, true} {
		r, _ := testRunner(t, repositoryWith(t, "nightly-1", archive.PhaseCompleted))
		r.Engines.KubernetesVersion = nil // would reach the cluster
		r.Engines.MissingAccess = func(context.Context, *rest.Config, []Access) ([]Access, error) {
			t.Error("permissions checked")
			return nil, nil
		}
		var calls []restoreCall
		fakeRestore(r, &calls, creates(1))
		req := restoreRequest()
		req.SkipPreflight, req.Restore.DryRun = true, dryRun
		out, err := r.Restore(t.Context(), req)
		if err != nil || len(out.Checks) != 0 || out.DryRun != nil || out.Result == nil || len(calls) != 1 || calls[0].opts.DryRun != dryRun || calls[0].readOnly {
			t.Errorf("dry run %v: calls %+v, result %+v, error %v", dryRun, calls, out, err)
		}
	}
	r, _ := testRunner(t, memory.New())
	req := restoreRequest()
	req.SkipPreflight = true
	if _, err := r.Restore(t.Context(), req); !errors.Is(err, archive.ErrNoRepository) || !strings.HasPrefix(err.Error(), "explained: ") {
		t.Errorf("without a repository: %v", err)
	}
}

func TestRestoreErrors(t *testing.T) {
	r, _ := testRunner(t, repositoryWith(t, "nightly-1", archive.PhaseCompleted))
	req := restoreRequest()
	req.Restore.Name = "Bad Name"
	if _, err := r.Restore(t.Context(), req); err == nil || !strings.HasPrefix(err.Error(), "restore name: ") {
		t.Errorf("bad name: %v", err)
	}

	r.Engines.RestoreHooks = func(context.Context, *rest.Config, []string, func() time.Time, *slog.Logger) (*hooks.RestoreRunner, error) {
		return nil, errors.New("RestoreHook shop/after not found")
	}
	var calls []restoreCall
	fakeRestore(r, &calls, creates(1))
	req = restoreRequest()
	req.Hooks = []string{"shop/after"}
	out, err := r.Restore(t.Context(), req)
	if err == nil || err.Error() != "restore hooks: RestoreHook shop/after not found" || len(out.Checks) != 5 || len(calls) != 1 {
		t.Errorf("hooks: %v, %+v", err, out)
	}

	recordErr := errors.New("record restore result: storage full")
	ran := &restore.Result{Name: "r1"}
	r.Engines.RestoreHooks = nil
	r.Engines.Restore = func(_ context.Context, _ *rest.Config, _ *archive.Repository, opts restore.Options) (*restore.Result, error) {
		if opts.DryRun {
			return creates(1), nil
		}
		return ran, recordErr
	}
	if out, err := r.Restore(t.Context(), restoreRequest()); out.Result != ran || !errors.Is(err, recordErr) {
		t.Errorf("a restore that ran but was not recorded: %+v, %v", out.Result, err)
	}
	r.Engines.Restore = func(_ context.Context, _ *rest.Config, _ *archive.Repository, opts restore.Options) (*restore.Result, error) {
		if opts.DryRun {
			return creates(1), nil
		}
		return nil, errors.New("no cluster")
	}
	if out, err := r.Restore(t.Context(), restoreRequest()); out.Result != nil || err == nil || err.Error() != `restore "r1": no cluster` {
		t.Errorf("a restore that could not run: %+v, %v", out.Result, err)
	}
}

func TestRunnerCheckWithoutKubernetesVersion(t *testing.T) {
	r, _ := testRunner(t, repositoryWith(t, "nightly-1", archive.PhaseCompleted))
	r.Engines.KubernetesVersion = func(context.Context, *rest.Config) (string, error) { return "", errors.New("unreachable") }
	var calls []restoreCall
	fakeRestore(r, &calls, creates(1))
	out, err := r.Restore(t.Context(), restoreRequest())
	if err != nil || out.Checks[0] != (Check{Name: "tester", OK: true, Message: "the tester runs it (Kubernetes version unknown: unreachable)"}) {
		t.Errorf("first check %+v, error %v", out.Checks, err)
	}
}
