package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// recorded is one request the test server saw.
type recorded struct {
	method, path, query, body, auth string
}

// fakeVault answers every request with status and body, and records it.
func fakeVault(t *testing.T, status int, body string) (*Client, *recorded) {
	t.Helper()
	var got recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		got = recorded{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, body: string(data), auth: r.Header.Get("Authorization")}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/", "cairn_test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, &got
}

func TestClientCallsEachEndpoint(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name                      string
		status                    int
		answer                    string
		call                      func(c *Client) (any, error)
		method, path, query, body string
		check                     func(t *testing.T, v any)
	}{
		{name: "list clusters", answer: `{"items":[{"name":"prod","health":"healthy"}],"next":"c2"}`,
			call:   func(c *Client) (any, error) { return c.ListClusters(ctx, ClusterFilter{Limit: 5, Cursor: "c1"}) },
			method: "GET", path: "/api/v1/clusters", query: "cursor=c1&limit=5",
			check: func(t *testing.T, v any) {
				l := v.(vaultv1.List[vaultv1.Cluster])
				if len(l.Items) != 1 || l.Items[0].Health != vaultv1.HealthHealthy || l.Next != "c2" {
					t.Errorf("%+v", l)
				}
			}},
		{name: "get cluster", answer: `{"name":"a b"}`, call: func(c *Client) (any, error) { return c.GetCluster(ctx, "a b") },
			method: "GET", path: "/api/v1/clusters/a%20b"},
		{name: "register cluster", status: 201, answer: `{"cluster":{"name":"prod"},"agentToken":"cairn_x","manifest":"kind: List"}`,
			call:   func(c *Client) (any, error) { return c.RegisterCluster(ctx, vaultv1.ClusterRegistration{Name: "prod"}) },
			method: "POST", path: "/api/v1/clusters", body: `{"name":"prod"}`,
			check: func(t *testing.T, v any) {
				if g := v.(vaultv1.TrustGrant); g.AgentToken != "cairn_x" || g.Cluster.Name != "prod" {
					t.Errorf("%+v", g)
				}
			}},
		{name: "revoke cluster", answer: `{"name":"prod","health":"revoked"}`,
			call:   func(c *Client) (any, error) { return c.RevokeCluster(ctx, "prod") },
			method: "POST", path: "/api/v1/clusters/prod/revoke"},
		{name: "list instances", answer: `{"items":[]}`,
			call: func(c *Client) (any, error) {
				return c.ListInstances(ctx, InstanceFilter{Cluster: "prod", Policy: "nightly"})
			},
			method: "GET", path: "/api/v1/instances", query: "cluster=prod&policy=nightly"},
		{name: "get instance", answer: `{"name":"shop","cluster":"prod","state":"protected"}`,
			call:   func(c *Client) (any, error) { return c.GetInstance(ctx, "shop") },
			method: "GET", path: "/api/v1/instances/shop",
			check: func(t *testing.T, v any) {
				if in := v.(vaultv1.Instance); in.Cluster != "prod" || in.State != vaultv1.InstanceProtected {
					t.Errorf("%+v", in)
				}
			}},
		{name: "create instance", status: 201, answer: `{"name":"shop"}`,
			call: func(c *Client) (any, error) {
				return c.CreateInstance(ctx, vaultv1.InstanceSpec{Name: "shop", Cluster: "prod", Policy: "nightly",
					Storage: vaultv1.StorageLocation{URL: "file:///b", PassphraseSecret: "p"}})
			},
			method: "POST", path: "/api/v1/instances",
			body: `{"name":"shop","cluster":"prod","policy":"nightly","backup":{"snapshotVolumes":false},"storage":{"url":"file:///b","passphraseSecret":"p"}}`},
		{name: "backup now", status: 202, answer: `{"id":7,"kind":"backup"}`,
			call:   func(c *Client) (any, error) { return c.BackupNow(ctx, "shop", vaultv1.BackupNowRequest{Retain: "30d"}) },
			method: "POST", path: "/api/v1/instances/shop/backup", body: `{"retain":"30d"}`,
			check: func(t *testing.T, v any) {
				if j := v.(vaultv1.Job); j.ID != 7 {
					t.Errorf("%+v", j)
				}
			}},
		{name: "stop", answer: `{"name":"shop","state":"stopped-deleting-data"}`,
			call: func(c *Client) (any, error) {
				return c.StopInstance(ctx, "shop", vaultv1.StopRequest{DeleteData: true})
			},
			method: "POST", path: "/api/v1/instances/shop/stop", body: `{"deleteData":true}`},
		{name: "resume", answer: `{"name":"shop"}`, call: func(c *Client) (any, error) { return c.ResumeInstance(ctx, "shop") },
			method: "POST", path: "/api/v1/instances/shop/resume"},
		{name: "delete instance", status: 204, call: func(c *Client) (any, error) { return nil, c.DeleteInstance(ctx, "shop") },
			method: "DELETE", path: "/api/v1/instances/shop"},
		{name: "list recovery points", answer: `{"items":[{"name":"shop-20250101000000","items":3}]}`,
			call: func(c *Client) (any, error) {
				return c.ListRecoveryPoints(ctx, RecoveryPointFilter{Instance: "shop", Cluster: "prod", Limit: 2})
			},
			method: "GET", path: "/api/v1/recovery-points", query: "cluster=prod&instance=shop&limit=2"},
		{name: "get recovery point", answer: `{"name":"rp"}`, call: func(c *Client) (any, error) { return c.GetRecoveryPoint(ctx, "rp") },
			method: "GET", path: "/api/v1/recovery-points/rp"},
		{name: "restore", status: 202, answer: `{"id":9,"kind":"restore"}`,
			call: func(c *Client) (any, error) {
				return c.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: "rp", TargetCluster: "staging",
					Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{"a": "b"}, DryRun: true}})
			},
			method: "POST", path: "/api/v1/restores",
			body: `{"recoveryPoint":"rp","targetCluster":"staging","options":{"namespaceMapping":{"a":"b"},"dryRun":true}}`},
		{name: "list jobs", answer: `{"items":[]}`,
			call: func(c *Client) (any, error) {
				return c.ListJobs(ctx, JobFilter{State: "running", Kind: "backup", Instance: "shop", Cluster: "prod", RecoveryPoint: "rp", Limit: 10, Cursor: "x"})
			},
			method: "GET", path: "/api/v1/jobs", query: "cluster=prod&cursor=x&instance=shop&kind=backup&limit=10&recoveryPoint=rp&state=running"},
		{name: "get job", answer: `{"id":12}`, call: func(c *Client) (any, error) { return c.GetJob(ctx, 12) },
			method: "GET", path: "/api/v1/jobs/12"},
		{name: "job logs", answer: `{"items":[{"seq":4,"level":"info","message":"hi"}]}`,
			call:   func(c *Client) (any, error) { return c.JobLogs(ctx, 12, LogFilter{After: 3, Limit: 50}) },
			method: "GET", path: "/api/v1/jobs/12/logs", query: "after=3&limit=50",
			check: func(t *testing.T, v any) {
				if l := v.(vaultv1.List[vaultv1.LogLine]); len(l.Items) != 1 || l.Items[0].Seq != 4 {
					t.Errorf("%+v", l)
				}
			}},
		{name: "job logs from the start", answer: `{"items":[]}`,
			call:   func(c *Client) (any, error) { return c.JobLogs(ctx, 12, LogFilter{}) },
			method: "GET", path: "/api/v1/jobs/12/logs"},
		{name: "cancel job", answer: `{"id":12,"state":"cancelled"}`, call: func(c *Client) (any, error) { return c.CancelJob(ctx, 12) },
			method: "POST", path: "/api/v1/jobs/12/cancel"},
		{name: "usage", answer: `{"prices":{"currency":"EUR"},"instances":[],"total":{"monthlyCost":1.5}}`,
			call:   func(c *Client) (any, error) { return c.Usage(ctx) },
			method: "GET", path: "/api/v1/usage",
			check: func(t *testing.T, v any) {
				if u := v.(vaultv1.Usage); u.Prices.Currency != "EUR" || u.Total.MonthlyCost != 1.5 {
					t.Errorf("%+v", u)
				}
			}},
		{name: "audit", answer: `{"items":[{"id":1,"operation":"POST /api/v1/clusters","status":201}]}`,
			call:   func(c *Client) (any, error) { return c.ListAudit(ctx, AuditFilter{Limit: 1}) },
			method: "GET", path: "/api/v1/audit", query: "limit=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			c, got := fakeVault(t, status, tc.answer)
			v, err := tc.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if got.method != tc.method || got.path != tc.path || got.query != tc.query || got.auth != "Bearer cairn_test" {
				t.Errorf("request %+v, want %s %s?%s", *got, tc.method, tc.path, tc.query)
			}
			if tc.body != "" && got.body != tc.body {
				t.Errorf("body %s\nwant %s", got.body, tc.body)
			}
			if tc.body == "" && got.body != "" {
				t.Errorf("unexpected body %s", got.body)
			}
			if tc.check != nil {
				tc.check(t, v)
			}
		})
	}
}

func TestClientReturnsTheVaultsError(t *testing.T) {
	c, _ := fakeVault(t, http.StatusUnprocessableEntity,
		`{"error":{"code":"invalid","message":"policy: \"x\" does not exist","field":"policy"}}`)
	_, err := c.CreateInstance(context.Background(), vaultv1.InstanceSpec{Name: "a"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 422 || apiErr.Code != "invalid" || apiErr.Field != "policy" {
		t.Fatalf("%#v", err)
	}

	c, _ = fakeVault(t, http.StatusBadGateway, "upstream down")
	_, err = c.GetJob(context.Background(), 1)
	if !errors.As(err, &apiErr) || apiErr.Status != 502 || apiErr.Message != "upstream down" {
		t.Fatalf("%#v", err)
	}

	c, _ = fakeVault(t, http.StatusOK, `{"id": "seven"}`)
	if _, err := c.GetJob(context.Background(), 1); err == nil {
		t.Fatal("a malformed answer was accepted")
	}
}

func TestClientURL(t *testing.T) {
	c, err := New("https://vault.example:8443/", "t", nil)
	if err != nil || c.URL() != "https://vault.example:8443" {
		t.Fatalf("%v %q", err, c.URL())
	}
}
