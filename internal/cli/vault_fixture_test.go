package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/testenv"
	"github.com/cairnbackup/cairn/internal/vault"
)

// The tests of the vault's object verbs (cluster, instance, recovery-point, restore, job, usage)
// run a real vault on loopback and drive the CLI in-process; a fakeAgent plays a cluster's agent
// over the vault's agent endpoints with raw HTTP.

// testManifest is the trust-grant manifest the test vault hands out.
const testManifest = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: cairn-system\n"

// testVault is a vault on loopback with a logged-in contributor in home.
type testVault struct {
	url, dir, home string
	// logs is the vault's log when it runs through the command (serveVaultIn).
	logs *testenv.LockedBuffer
}

// startTestVault serves a vault with a short claim long-poll, a stub trust-grant manifest and
// prices, and logs a contributor in.
func startTestVault(t *testing.T) *testVault {
	t.Helper()
	return startTestVaultWith(t, nil)
}

// startTestVaultWith is startTestVault with the options changed by set first (nil: none).
func startTestVaultWith(t *testing.T, set func(*vault.Options)) *testVault {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	opts := vault.Options{DataDir: dir, Listen: "127.0.0.1:0", Vault: "default", Ready: func(a string) { addr <- a }}
	opts.API.ClaimWait = 2 * time.Second
	opts.API.TrustGrant = func(string, string) (string, error) { return testManifest, nil }
	opts.API.Prices = vaultv1.Prices{Currency: "EUR", NamespaceMonth: 2, StorageGiBMonth: 0.5, SnapshotGiBMonth: 0.25}
	logs := &testenv.LockedBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if set != nil {
		set(&opts)
	}
	go func() { done <- vault.Serve(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vault: %v", err)
		}
		if t.Failed() {
			t.Logf("the vault's log (warnings and errors):\n%s", logs.String())
		}
	})
	v := &testVault{dir: dir, home: t.TempDir()}
	select {
	case a := <-addr:
		v.url = "http://" + a
	case err := <-done:
		t.Fatalf("vault did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("vault did not start")
	}
	v.ok(t, "login", "--vault", v.url, "--token-file", filepath.Join(dir, vault.AdminTokenFile))
	return v
}

// run runs the CLI as the logged-in contributor; stdout and stderr apart.
func (v *testVault) run(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string {
		if k == "HOME" {
			return v.home
		}
		return ""
	}}
	root := NewRootCommand(env)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// ok runs the CLI and fails the test if the command fails; it returns stdout.
func (v *testVault) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := v.run(t.Context(), args...)
	if err != nil {
		t.Fatalf("cairn %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// fails runs the CLI, expects it to fail with an error containing want and returns the error text.
func (v *testVault) fails(t *testing.T, want string, args ...string) string {
	t.Helper()
	out, errOut, err := v.run(t.Context(), args...)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("cairn %s: error %v, want one containing %q\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, want, out, errOut)
	}
	return err.Error()
}

// jsonOut runs the CLI with -o json and decodes stdout into out.
func (v *testVault) jsonOut(t *testing.T, out any, args ...string) {
	t.Helper()
	stdout := v.ok(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("cairn %s -o json: %v\n%s", strings.Join(args, " "), err, stdout)
	}
}

// register registers a cluster and returns its agent; the agent sends a heartbeat, so the
// cluster is healthy.
func (v *testVault) register(t *testing.T, cluster string) *fakeAgent {
	t.Helper()
	var g vaultv1.TrustGrant
	v.jsonOut(t, &g, "cluster", "register", cluster)
	if g.AgentToken == "" {
		t.Fatalf("register %s: no agent token: %+v", cluster, g)
	}
	a := &fakeAgent{url: v.url, token: g.AgentToken}
	a.heartbeat(t)
	return a
}

// protect registers cluster, creates a policy whose next run is hours away (the scheduler stays
// out of the test) and an instance of it.
func (v *testVault) protect(t *testing.T, cluster, instance string) *fakeAgent {
	t.Helper()
	a := v.register(t, cluster)
	at := time.Now().UTC().Add(12 * time.Hour).Format("15:04")
	policyName := "p-" + instance
	v.ok(t, "policy", "create", policyName, "--daily-at", at, "--retain", "7d")
	v.ok(t, "instance", "create", instance, "--cluster", cluster, "--policy", policyName,
		"--storage", "file:///var/backups/"+instance, "--passphrase-secret", "repo-pass", "--include-namespaces", "shop")
	return a
}

// fakeAgent is a cluster's agent, spoken with raw HTTP.
type fakeAgent struct {
	url, token string
	// kinds, if set, are the job kinds it announces (none: those of protocol version 1).
	kinds []string
}

// call posts body (nil: none) to an agent endpoint and decodes a 200 answer into out.
func (a *fakeAgent) call(path string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(http.MethodPost, a.url+"/api/v1/agent"+path, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if a.kinds != nil {
		req.Header.Set(agentv1.HeaderAgentProtocol, strconv.Itoa(agentv1.Protocol))
		req.Header.Set(agentv1.HeaderAgentKinds, strings.Join(a.kinds, ","))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("POST /api/v1/agent%s: %d %s", path, resp.StatusCode, data)
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", data, err)
		}
	}
	return resp.StatusCode, nil
}

func (a *fakeAgent) heartbeat(t *testing.T) {
	t.Helper()
	if _, err := a.call("/heartbeat", agentv1.Heartbeat{AgentVersion: "test", KubernetesVersion: "v1.35.0",
		Namespaces: []string{"default", "kube-system", "shop"}}, nil); err != nil {
		t.Fatal(err)
	}
}

// claim waits for the next job of the agent's cluster. It may run in another goroutine than the
// test's: it returns errors rather than failing the test.
func (a *fakeAgent) claim() (vaultv1.Job, error) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var j vaultv1.Job
		status, err := a.call("/claim", nil, &j)
		if err != nil {
			return j, err
		}
		if status == http.StatusOK {
			return j, nil
		}
	}
	return vaultv1.Job{}, fmt.Errorf("no job to claim within 20 s")
}

func (a *fakeAgent) progress(id int64, rep agentv1.ProgressReport) (agentv1.ProgressReply, error) {
	var reply agentv1.ProgressReply
	_, err := a.call(fmt.Sprintf("/jobs/%d/progress", id), rep, &reply)
	return reply, err
}

func (a *fakeAgent) complete(id int64, c agentv1.Completion) error {
	_, err := a.call(fmt.Sprintf("/jobs/%d/complete", id), c, nil)
	return err
}

// runBackup claims the next job, which must be a backup, reports progress with a log line and
// completes it with state; a succeeded or partially failed backup reports its recovery point.
func (a *fakeAgent) runBackup(state, errText string) (vaultv1.Job, error) {
	j, err := a.claim()
	if err != nil {
		return j, err
	}
	if j.Kind != agentv1.KindBackup || j.Spec.Backup == nil {
		return j, fmt.Errorf("claimed %s job %d, want a backup: %+v", j.Kind, j.ID, j.Spec)
	}
	now := time.Now().UTC()
	if _, err := a.progress(j.ID, agentv1.ProgressReport{Progress: agentv1.JobProgress{Items: 10, Bytes: 2048, Message: "configmaps"},
		Logs: []agentv1.LogLine{{Time: now, Level: "info", Message: "backing up namespace shop"}}}); err != nil {
		return j, err
	}
	c := agentv1.Completion{State: state, Error: errText, Logs: []agentv1.LogLine{{Time: now, Level: "info", Message: "backup finished: " + state}}}
	if state != vaultv1.JobFailed {
		c.Result = &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Name: j.Spec.Backup.RecoveryPoint, Time: now, Phase: archive.PhaseCompleted,
			Items: 42, RawBytes: 1 << 20, StoredBytes: 300 << 10, Namespaces: []string{"shop"}, Volumes: 1, SnapshotBytes: 1 << 30,
			OnDemand: j.Spec.Backup.OnDemand, ExpiresAt: j.Spec.Backup.ExpiresAt}}
	}
	return j, a.complete(j.ID, c)
}

// cliResult is the outcome of a CLI run in another goroutine.
type cliResult struct {
	stdout, stderr string
	err            error
}

// runAsync runs the CLI in a goroutine (for --wait, while the test plays the agent).
func (v *testVault) runAsync(t *testing.T, args ...string) <-chan cliResult {
	done := make(chan cliResult, 1)
	go func() {
		out, errOut, err := v.run(t.Context(), args...)
		done <- cliResult{out, errOut, err}
	}()
	return done
}

// await waits for a runAsync result.
func await(t *testing.T, done <-chan cliResult) cliResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not end")
	}
	return cliResult{}
}

// regexpLine reports whether a line of s starts with a match of pattern.
func regexpLine(s, pattern string) bool { return regexp.MustCompile(`(?m)^` + pattern).MatchString(s) }
