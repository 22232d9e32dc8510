//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/cli"
	"github.com/cairnbackup/cairn/internal/testenv"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// A vault replica runs as a process of its own, so that a test can kill it: this test binary run
// again, told by replicaArgsEnv to be `cairn` with those arguments (TestMain), on a clock moved by
// the offset in the file replicaClockEnv names.
const (
	replicaArgsEnv  = "CAIRN_E2E_REPLICA_ARGS"
	replicaClockEnv = "CAIRN_E2E_REPLICA_CLOCK"
)

// runReplica is the replica process: cairn with the arguments in argsJSON until SIGTERM.
func runReplica(argsJSON string) int {
	var args []string
	if err := json.Unmarshal([]byte(argsJSON), &args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", replicaArgsEnv, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	clk := fileClock(os.Getenv(replicaClockEnv))
	root := cli.NewRootCommand(cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Now: clk.now})
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fileClock is real time moved ahead by the nanoseconds written in the file it names.
type fileClock string

func (f fileClock) now() time.Time {
	data, err := os.ReadFile(string(f))
	if err != nil {
		return time.Now()
	}
	offset, _ := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return time.Now().Add(time.Duration(offset))
}

// replicaSet is three vault replicas on one PostgreSQL database, each on a fixed loopback port so
// that a restarted one comes back where the balancer looks for it.
type replicaSet struct {
	t    *testing.T
	args [][]string
	// bins are the cairn binaries the replicas run: "" is this checkout's (this test binary).
	bins      []string
	addrs     []string
	dataDirs  []string
	clockFile string
	mu        sync.Mutex
	procs     []*exec.Cmd
	// logs keep each replica's log (every request at info level): shown when the test fails.
	logs []*testenv.LockedBuffer
}

func startReplicas(t *testing.T, n int, dsn string) *replicaSet {
	t.Helper()
	return startReplicasOf(t, dsn, make([]string, n))
}

// startReplicasOf starts a replica per binary in bins ("": this checkout's cairn).
func startReplicasOf(t *testing.T, dsn string, bins []string) *replicaSet {
	t.Helper()
	n := len(bins)
	rs := &replicaSet{t: t, bins: bins, clockFile: filepath.Join(t.TempDir(), "clock-offset"), procs: make([]*exec.Cmd, n)}
	rs.setOffset(0)
	for range n {
		addr := freeLoopbackAddr(t)
		rs.addrs = append(rs.addrs, addr)
		rs.logs = append(rs.logs, &testenv.LockedBuffer{})
		rs.dataDirs = append(rs.dataDirs, t.TempDir())
		rs.args = append(rs.args, []string{"vault", "serve", "--database", dsn, "--data-dir", rs.dataDirs[len(rs.dataDirs)-1], "--listen", addr,
			"--tick", "500ms", "--log-format", "json"})
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { rs.start(i) })
	}
	wg.Wait()
	t.Cleanup(func() {
		for i := range n {
			rs.signal(i, syscall.SIGKILL)
			if t.Failed() {
				t.Logf("replica %d's log:\n%s", i, rs.logs[i].String())
			}
		}
	})
	return rs
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs replica i and waits until it serves.
func (rs *replicaSet) start(i int) {
	args, err := json.Marshal(rs.args[i])
	if err != nil {
		rs.t.Error(err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), replicaArgsEnv+"="+string(args), replicaClockEnv+"="+rs.clockFile)
	if rs.bins[i] != "" {
		cmd = exec.Command(rs.bins[i], rs.args[i]...) // on the real clock: keep the offset 0 beside it
	}
	cmd.Stdout, cmd.Stderr = rs.logs[i], rs.logs[i]
	if err := cmd.Start(); err != nil {
		rs.t.Error(err)
		return
	}
	rs.mu.Lock()
	rs.procs[i] = cmd
	rs.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + rs.addrs[i] + "/api/v1/openapi.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			rs.t.Errorf("replica %d did not serve within 30 s: %v", i, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signal sends sig to replica i and waits for it to end.
func (rs *replicaSet) signal(i int, sig syscall.Signal) {
	rs.mu.Lock()
	cmd := rs.procs[i]
	rs.procs[i] = nil
	rs.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	_ = cmd.Wait()
}

// restart stops replica i the way a rolling restart does (SIGTERM) and starts it again.
func (rs *replicaSet) restart(i int) {
	rs.signal(i, syscall.SIGTERM)
	rs.start(i)
}

// upgrade stops replica i the way a rolling upgrade does (SIGTERM) and starts this checkout's
// cairn in its place.
func (rs *replicaSet) upgrade(i int) {
	rs.signal(i, syscall.SIGTERM)
	rs.bins[i] = ""
	rs.start(i)
}

// setOffset moves every replica's clock to real time plus d.
func (rs *replicaSet) setOffset(d time.Duration) {
	if err := os.WriteFile(rs.clockFile, []byte(strconv.FormatInt(int64(d), 10)), 0o600); err != nil {
		rs.t.Fatal(err)
	}
}

// leads tells whether replica i says it leads (its cairn_vault_leader gauge).
func (rs *replicaSet) leads(i int) bool {
	resp, err := http.Get("http://" + rs.addrs[i] + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if sc.Text() == "cairn_vault_leader 1" {
			return true
		}
	}
	return false
}

// leader waits until exactly one of the live replicas leads, and returns it. Two may say so for
// a moment after the clock jumps: the old leader steps down at its next renewal.
func (rs *replicaSet) leader(live ...int) int {
	rs.t.Helper()
	found := -1
	waitFor(rs.t, 40*time.Second, "exactly one replica to lead", func() bool {
		leaders := 0
		for _, i := range live {
			if rs.leads(i) {
				found, leaders = i, leaders+1
			}
		}
		return leaders == 1
	})
	return found
}

// behindBalancer puts the replicas behind a balancer and returns the vault as its clients see
// it, with the first contributor token.
func (rs *replicaSet) behindBalancer() (*testVault, string) {
	rs.t.Helper()
	lb := startBalancer(rs.t, rs.addrs)
	token := firstTokenOf(rs.t, rs)
	admin, err := client.New(lb.url(), token, nil)
	if err != nil {
		rs.t.Fatal(err)
	}
	return &testVault{url: lb.url(), admin: admin}, token
}

// sessionEverywhere checks that every running replica takes the Backup center session.
func (rs *replicaSet) sessionEverywhere(when string, cookie *http.Cookie) {
	rs.t.Helper()
	for i, addr := range rs.addrs {
		if rs.running(i) && !testenv.SignedIn(rs.t, "http://"+addr, cookie) {
			rs.t.Errorf("%s: the session is refused by replica %d", when, i)
		}
	}
}

// inBrowser runs test/browser/replicas.mjs in Chromium: with token it signs in through the
// balancer at url first, keeping the cookies in state; then the session must be signed in on every
// running replica and through the balancer.
func (rs *replicaSet) inBrowser(url, state, token string) {
	rs.t.Helper()
	node, modules := browserTestDeps(rs.t)
	var running []string
	for i, addr := range rs.addrs {
		if rs.running(i) {
			running = append(running, "http://"+addr)
		}
	}
	env := []string{"CAIRN_UI_URL=" + url, "CAIRN_REPLICAS=" + strings.Join(running, ","), "CAIRN_STATE=" + state}
	if token != "" {
		env = append(env, "CAIRN_TOKEN="+token)
	}
	runBrowserScript(rs.t, node, modules, "replicas.mjs", env)
}

// running tells whether replica i's process runs.
func (rs *replicaSet) running(i int) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.procs[i] != nil
}

// balancer is a small TCP load balancer: each new connection goes to the next backend that
// accepts it, round robin.
type balancer struct {
	ln       net.Listener
	backends []string
	mu       sync.Mutex
	next     int
}

func startBalancer(t *testing.T, backends []string) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, backends: backends}
	t.Cleanup(func() { ln.Close() })
	go b.serve()
	return b
}

func (b *balancer) url() string { return "http://" + b.ln.Addr().String() }

func (b *balancer) serve() {
	for {
		conn, err := b.ln.Accept()
		if err != nil {
			return
		}
		go b.proxy(conn)
	}
}

func (b *balancer) proxy(client net.Conn) {
	defer client.Close()
	var backend net.Conn
	for range b.backends {
		b.mu.Lock()
		addr := b.backends[b.next%len(b.backends)]
		b.next++
		b.mu.Unlock()
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			backend = c
			break
		}
	}
	if backend == nil {
		return
	}
	defer backend.Close()
	done := make(chan struct{}, 2)
	// A replica killed mid-request ends its side: the client sees the connection end.
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(backend, client)
	go pipe(client, backend)
	<-done
	<-done
}
