package api

import (
	"fmt"
	"testing"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// agentCluster is the fixture's registered cluster whose agent token is f.agentToken.
const agentCluster = "agent-cluster"

// cluster registers cluster name in vault prod and records a heartbeat, so it is healthy.
func (f *fixture) cluster(t *testing.T, name string) string {
	t.Helper()
	_, token, err := f.st.RegisterCluster(t.Context(), "prod", name)
	if err != nil {
		t.Fatal(err)
	}
	f.secrets = append(f.secrets, token)
	if err := f.st.Heartbeat(t.Context(), "prod", name, store.Heartbeat{AgentVersion: "test", KubernetesVersion: "v1.35.4"}); err != nil {
		t.Fatal(err)
	}
	return token
}

// instance creates cluster "c-<name>", policy "p-<name>" and instance name over them.
func (f *fixture) instance(t *testing.T, name string) store.Instance {
	t.Helper()
	f.cluster(t, "c-"+name)
	f.createPolicy(t, "prod", "p-"+name)
	spec, err := storeInstanceSpec(instanceSpec(name))
	if err != nil {
		t.Fatal(err)
	}
	in, err := f.st.CreateInstance(t.Context(), "prod", spec)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func instanceSpec(name string) vaultv1.InstanceSpec {
	return vaultv1.InstanceSpec{Name: name, Cluster: "c-" + name, Policy: "p-" + name,
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{"shop"}},
		Storage: vaultv1.StorageLocation{URL: "s3://backups/" + name + "?endpoint=http://127.0.0.1:7070", PassphraseSecret: "repo-passphrase"}}
}

func instanceSpecJSON(name string) string {
	return mustJSON(instanceSpec(name))
}

// recoveryPoint runs a backup of a new instance name through queueing, claim and completion and
// returns its recovery point.
func (f *fixture) recoveryPoint(t *testing.T, name string) store.RecoveryPoint {
	t.Helper()
	in, err := jobsInstance(f.instance(t, name))
	if err != nil {
		t.Fatal(err)
	}
	job, err := f.srv.jobs.Queue(t.Context(), "prod", jobs.BackupJob(in, fixedClock(), jobs.BackupTrigger{Trigger: "on-demand", By: "test"}))
	if err != nil {
		t.Fatal(err)
	}
	f.claim(t, in.Cluster, job.ID)
	err = f.srv.jobs.Complete(t.Context(), "prod", in.Cluster, job.ID, agentv1.Completion{State: agentv1.JobSucceeded,
		Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Items: 12, StoredBytes: 3 << 20,
			SnapshotBytes: 1 << 30, Namespaces: []string{"shop"}, Volumes: 1, Time: fixedClock()}}})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := f.st.GetRecoveryPoint(t.Context(), "prod", job.Spec.Backup.RecoveryPoint)
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// claim claims the cluster's next job through the job life cycle and checks it is want.
func (f *fixture) claim(t *testing.T, cluster string, want int64) jobs.Job {
	t.Helper()
	job, ok, err := f.srv.jobs.Claim(t.Context(), "prod", cluster, testLease)
	if err != nil || !ok || job.ID != want {
		t.Fatalf("claim on %s: job %d, ok %v, %v; want job %d", cluster, job.ID, ok, err, want)
	}
	return job
}

// agentJob queues a verify job for the fixture's agent cluster.
func (f *fixture) agentJob(t *testing.T) jobs.Job {
	t.Helper()
	job, err := f.srv.jobs.Queue(t.Context(), "prod", jobs.NewJob{Kind: agentv1.KindVerify, Cluster: agentCluster, Trigger: "user", CreatedBy: "test",
		Spec: agentv1.JobSpec{Verify: &agentv1.VerifyJob{RecoveryPoint: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// runningAgentJob queues a job on the agent cluster and claims the oldest queued one there.
func (f *fixture) runningAgentJob(t *testing.T) jobs.Job {
	t.Helper()
	f.agentJob(t)
	job, ok, err := f.srv.jobs.Claim(t.Context(), "prod", agentCluster, testLease)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	return job
}

func (f *fixture) job(t *testing.T, id int64) jobs.Job {
	t.Helper()
	j, err := f.srv.jobs.Get(t.Context(), "prod", id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func jobPath(id int64, suffix string) string { return fmt.Sprintf("/api/v1/jobs/%d%s", id, suffix) }
