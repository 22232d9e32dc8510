package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// runTestRestore restores a recovery point into scratch namespaces, checks it and deletes them
// (docs/design/monitoring.md, "Automatic test restores"): the job succeeds when every check
// passed and fails naming the failed ones.
func (a *agent) runTestRestore(ctx context.Context, j *jobRun, spec *agentv1.TestRestoreJob) outcome {
	res := &agentv1.JobResult{}
	rs := spec.Restore
	if rs.Options.ClusterResources != "false" || len(rs.Options.NamespaceMapping) == 0 {
		return failed(res, fmt.Errorf("test restore %s: it must map every namespace to a scratch one and restore no cluster-scoped object (clusterResources false); the vault sent %d mapping(s) and clusterResources %q",
			rs.Name, len(rs.Options.NamespaceMapping), rs.Options.ClusterResources))
	}
	opts, err := a.restoreOptions(&rs)
	if err != nil {
		return failed(res, fmt.Errorf("restore options: %w", err))
	}
	checks := make([]usecase.TestCheck, len(spec.Checks))
	for i, c := range spec.Checks {
		checks[i] = usecase.TestCheck{Namespace: c.Namespace, Selector: c.Selector, Container: c.Container, Command: c.Command,
			Timeout: time.Duration(c.TimeoutSeconds) * time.Second}
	}
	j.log.Info("test restore", "recoveryPoint", rs.RecoveryPoint, "sourceCluster", rs.SourceCluster, "scratch", len(rs.Options.NamespaceMapping))
	got, err := a.useCases(j).TestRestore(ctx, usecase.TestRestoreRequest{
		Restore: usecase.RestoreRequest{Repository: a.repository(rs.Storage, j), Restore: opts, SourceCluster: rs.SourceCluster,
			Wording: a.wording(ctx, rs.Storage), Progress: progressOf(j), Mover: a.restoreMover()},
		ReadyTimeout: time.Duration(spec.ReadyTimeoutSeconds) * time.Second, Checks: checks,
	})
	for _, c := range got.Restore.Checks {
		res.Checks = append(res.Checks, agentv1.Check(c))
	}
	if r := got.Restore.Result; r != nil {
		res.Restore = restoreSummary(r, got.Restore.DryRun)
	}
	failedChecks := reportChecks(res, got.Checks)
	switch {
	case err != nil:
		return failed(res, fmt.Errorf("test restore of %s: %w", rs.RecoveryPoint, err))
	case len(failedChecks) > 0:
		return outcome{state: agentv1.JobFailed, result: res, err: fmt.Sprintf("test restore of %s failed %d check(s): %s", rs.RecoveryPoint,
			len(failedChecks), strings.Join(failedChecks, "; "))}
	}
	j.log.Info("test restore passed", "recoveryPoint", rs.RecoveryPoint, "checks", len(got.Checks))
	return outcome{state: agentv1.JobSucceeded, result: res}
}
