package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func get(path string) matrixCall {
	return func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", path, token, ""), nil
	}
}

// objectMatrixCalls covers the clusters, instances, recovery points, restores, jobs, usage and
// audit routes.
var objectMatrixCalls = map[string]matrixCall{
	"GET /api/v1/clusters": get("/api/v1/clusters"),
	"GET /api/v1/clusters/{name}": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		f.cluster(t, "get-"+u)
		return newRequest(t, "GET", "/api/v1/clusters/get-"+u, token, ""), nil
	},
	"POST /api/v1/clusters": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		name := "new-" + u
		return newRequest(t, "POST", "/api/v1/clusters", token, `{"name":"`+name+`"}`), func(t *testing.T, allowed bool) {
			_, err := f.st.GetCluster(t.Context(), "prod", name)
			if allowed != (err == nil) {
				t.Errorf("allowed %v, cluster: %v", allowed, err)
			}
		}
	},
	"POST /api/v1/clusters/{name}/revoke": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		name := "rev-" + u
		f.cluster(t, name)
		return newRequest(t, "POST", "/api/v1/clusters/"+name+"/revoke", token, ""), func(t *testing.T, allowed bool) {
			c, err := f.st.GetCluster(t.Context(), "prod", name)
			if err != nil || allowed != (c.Health == vaultv1.HealthRevoked) {
				t.Errorf("allowed %v, cluster %+v %v", allowed, c, err)
			}
		}
	},
	"GET /api/v1/instances": get("/api/v1/instances"),
	"GET /api/v1/instances/{name}": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		f.instance(t, "get-"+u)
		return newRequest(t, "GET", "/api/v1/instances/get-"+u, token, ""), nil
	},
	"POST /api/v1/instances": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		name := "new-" + u
		f.cluster(t, "c-"+name)
		f.createPolicy(t, "prod", "p-"+name)
		return newRequest(t, "POST", "/api/v1/instances", token, instanceSpecJSON(name)), func(t *testing.T, allowed bool) {
			_, err := f.st.GetInstance(t.Context(), "prod", name)
			if allowed != (err == nil) {
				t.Errorf("allowed %v, instance: %v", allowed, err)
			}
		}
	},
	"POST /api/v1/instances/{name}/backup": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		name := "bk-" + u
		f.instance(t, name)
		return newRequest(t, "POST", "/api/v1/instances/"+name+"/backup", token, `{"retain":"30d"}`), func(t *testing.T, allowed bool) {
			jobs, err := f.st.ListJobs(t.Context(), "prod", store.JobFilter{Instance: name}, store.Page{})
			if err != nil || allowed != (len(jobs.Items) == 1) {
				t.Errorf("allowed %v, jobs %+v %v", allowed, jobs, err)
			}
		}
	},
	"POST /api/v1/instances/{name}/stop": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		name := "stop-" + u
		f.instance(t, name)
		return newRequest(t, "POST", "/api/v1/instances/"+name+"/stop", token, ""), func(t *testing.T, allowed bool) {
			in, err := f.st.GetInstance(t.Context(), "prod", name)
			if err != nil || allowed != (in.State == vaultv1.InstanceStopped) {
				t.Errorf("allowed %v, instance %+v %v", allowed, in, err)
			}
		}
	},
	"POST /api/v1/instances/{name}/resume": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		name := "res-" + u
		f.instance(t, name)
		if _, err := f.st.SetInstanceState(t.Context(), "prod", name, vaultv1.InstanceStopped, vaultv1.InstanceProtected); err != nil {
			t.Fatal(err)
		}
		return newRequest(t, "POST", "/api/v1/instances/"+name+"/resume", token, ""), func(t *testing.T, allowed bool) {
			in, err := f.st.GetInstance(t.Context(), "prod", name)
			if err != nil || allowed != (in.State == vaultv1.InstanceProtected) {
				t.Errorf("allowed %v, instance %+v %v", allowed, in, err)
			}
		}
	},
	"DELETE /api/v1/instances/{name}": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		name := "del-" + u
		f.instance(t, name)
		if _, err := f.st.SetInstanceState(t.Context(), "prod", name, vaultv1.InstanceStopped, vaultv1.InstanceProtected); err != nil {
			t.Fatal(err)
		}
		return newRequest(t, "DELETE", "/api/v1/instances/"+name, token, ""), func(t *testing.T, allowed bool) {
			_, err := f.st.GetInstance(t.Context(), "prod", name)
			if allowed != errors.Is(err, store.ErrNotFound) {
				t.Errorf("allowed %v, instance after: %v", allowed, err)
			}
		}
	},
	"GET /api/v1/recovery-points": get("/api/v1/recovery-points"),
	"GET /api/v1/recovery-points/{name}": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		rp := f.recoveryPoint(t, "rp-"+u)
		return newRequest(t, "GET", "/api/v1/recovery-points/"+rp.Name, token, ""), nil
	},
	"DELETE /api/v1/recovery-points/{name}": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		rp := f.recoveryPoint(t, "del-"+u)
		return newRequest(t, "DELETE", "/api/v1/recovery-points/"+rp.Name, token, ""), func(t *testing.T, allowed bool) {
			got, err := f.st.GetRecoveryPoint(t.Context(), "prod", rp.Name)
			if err != nil || allowed != (got.SoftDeleted != nil) {
				t.Errorf("allowed %v, deleted %+v %v", allowed, got.SoftDeleted, err)
			}
		}
	},
	"POST /api/v1/recovery-points/{name}/undelete": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		rp := f.recoveryPoint(t, "und-"+u)
		if _, err := f.st.SoftDeleteRecoveryPoint(t.Context(), "prod", rp.Name, "someone", fixedClock().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		return newRequest(t, "POST", "/api/v1/recovery-points/"+rp.Name+"/undelete", token, ""), func(t *testing.T, allowed bool) {
			got, err := f.st.GetRecoveryPoint(t.Context(), "prod", rp.Name)
			if err != nil || allowed != (got.SoftDeleted == nil) {
				t.Errorf("allowed %v, deleted %+v %v", allowed, got.SoftDeleted, err)
			}
		}
	},
	"POST /api/v1/recovery-points/{name}/verify": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		rp := f.recoveryPoint(t, "vf-"+u)
		return newRequest(t, "POST", "/api/v1/recovery-points/"+rp.Name+"/verify", token, `{"level":"structure"}`), func(t *testing.T, allowed bool) {
			jobs, err := f.st.ListJobs(t.Context(), "prod", store.JobFilter{Kind: agentv1.KindVerify, RecoveryPoint: rp.Name}, store.Page{})
			if err != nil || allowed != (len(jobs.Items) == 1) {
				t.Errorf("allowed %v, verify jobs %+v %v", allowed, jobs, err)
			}
		}
	},
	"POST /api/v1/restores": func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		rp := f.recoveryPoint(t, "rs-"+u)
		body := mustJSON(vaultv1.RestoreRequest{RecoveryPoint: rp.Name, Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{"shop": "shop-copy"}}})
		return newRequest(t, "POST", "/api/v1/restores", token, body), func(t *testing.T, allowed bool) {
			jobs, err := f.st.ListJobs(t.Context(), "prod", store.JobFilter{Kind: agentv1.KindRestore, RecoveryPoint: rp.Name}, store.Page{})
			if err != nil || allowed != (len(jobs.Items) == 1) {
				t.Errorf("allowed %v, restore jobs %+v %v", allowed, jobs, err)
			}
		}
	},
	"GET /api/v1/jobs":       get("/api/v1/jobs"),
	"GET /api/v1/job-counts": get("/api/v1/job-counts"),
	"GET /api/v1/jobs/{id}": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", jobPath(f.agentJob(t).ID, ""), token, ""), nil
	},
	"GET /api/v1/jobs/{id}/logs": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", jobPath(f.agentJob(t).ID, "/logs"), token, ""), nil
	},
	"POST /api/v1/jobs/{id}/cancel": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		job := f.agentJob(t)
		return newRequest(t, "POST", jobPath(job.ID, "/cancel"), token, ""), func(t *testing.T, allowed bool) {
			if got := f.job(t, job.ID); allowed != (got.State == vaultv1.JobCancelled) {
				t.Errorf("allowed %v, job %s", allowed, got.State)
			}
		}
	},
	"GET /api/v1/usage": get("/api/v1/usage"),
	"GET /api/v1/audit": get("/api/v1/audit"),
}

// agentMatrixCalls covers the agent routes; the agent caller is the fixture's agent cluster.
var agentMatrixCalls = map[string]matrixCall{
	"POST /api/v1/agent/heartbeat": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "POST", "/api/v1/agent/heartbeat", token, `{"agentVersion":"v1","kubernetesVersion":"v1.35.4"}`), nil
	},
	"POST /api/v1/agent/claim": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		f.agentJob(t)
		return newRequest(t, "POST", "/api/v1/agent/claim", token, ""), nil
	},
	"POST /api/v1/agent/jobs/{id}/progress": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		job := f.runningAgentJob(t)
		body := `{"progress":{"items":5,"bytes":10,"message":"working"},"logs":[{"level":"info","message":"hello"}]}`
		return newRequest(t, "POST", fmt.Sprintf("/api/v1/agent/jobs/%d/progress", job.ID), token, body), func(t *testing.T, allowed bool) {
			if got := f.job(t, job.ID); allowed != (got.Progress.Items == 5) {
				t.Errorf("allowed %v, progress %+v", allowed, got.Progress)
			}
		}
	},
	"POST /api/v1/agent/jobs/{id}/complete": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		job := f.runningAgentJob(t)
		return newRequest(t, "POST", fmt.Sprintf("/api/v1/agent/jobs/%d/complete", job.ID), token, `{"state":"succeeded"}`),
			func(t *testing.T, allowed bool) {
				if got := f.job(t, job.ID); allowed != (got.State == vaultv1.JobSucceeded) {
					t.Errorf("allowed %v, job %s", allowed, got.State)
				}
			}
	},
}
