// Package promtest runs a real Prometheus server (Debian's prometheus package) on loopback for
// tests: it scrapes the targets it is given every second, and Query asks it what it has. Without
// prometheus on $PATH the test is skipped, except under CI=true, where it fails.
package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const installHint = "apt-get install -y prometheus (or make deps)"

// Server is a running Prometheus.
type Server struct {
	URL string

	// failed is the wait that failed the test, said again after Prometheus's log: a CI excerpt
	// shows the end of a failed test's output, which is otherwise the logs.
	failed string
}

// Start runs Prometheus scraping the targets (host:port, path /metrics) until the test ends.
func Start(t testing.TB, targets ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		msg := "Prometheus is not installed (no prometheus on $PATH); install it: " + installHint
		if os.Getenv("CI") == "true" {
			t.Fatal("promtest: " + msg)
		}
		t.Skip("promtest: " + msg)
	}
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = strconv.Quote(tg)
	}
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: cairn\n    static_configs:\n      - targets: [%s]\n",
		strings.Join(quoted, ", "))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("promtest: start prometheus: %v", err)
	}
	s := &Server{URL: "http://" + addr}
	t.Cleanup(func() {
		var health string
		if s.failed != "" {
			health = s.scrapeHealth()
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("prometheus.log:\n%s", tail(string(b), 20))
			}
		}
		if s.failed != "" {
			t.Logf("promtest: failed waiting for %s; scrapes: %s", s.failed, health)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("promtest: prometheus not ready on %s within 30s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Query evaluates an instant query and returns the value of its one result; ok is false when
// the query has no result.
func (s *Server) Query(ctx context.Context, query string) (value float64, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, false, fmt.Errorf("query %s: %w", query, err)
	}
	switch {
	case body.Status != "success":
		return 0, false, fmt.Errorf("query %s: %s", query, body.Error)
	case len(body.Data.Result) == 0:
		return 0, false, nil
	case len(body.Data.Result) > 1:
		return 0, false, fmt.Errorf("query %s: %d results, want one", query, len(body.Data.Result))
	}
	str, _ := body.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	return v, err == nil, err
}

// Wait polls query until its one result satisfies cond, and returns it.
func (s *Server) Wait(t testing.TB, query string, within time.Duration, cond func(float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v, ok, err := s.Query(t.Context(), query)
		if err == nil && ok && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			s.failed = query
			t.Fatalf("promtest: %s: last answer %v (found %v, error %v) after %s", query, v, ok, err, within)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// scrapeHealth says how the scrapes of the targets went: whether the last one succeeded, how long
// it took and how many samples it had.
func (s *Server) scrapeHealth() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var parts []string
	for _, q := range []string{"min(up)", "max(scrape_duration_seconds)", "min(scrape_samples_scraped)",
		"sum(count_over_time(up[5m]))", "sum(sum_over_time(up[5m]))"} {
		v, ok, err := s.Query(ctx, q)
		switch {
		case err != nil:
			parts = append(parts, fmt.Sprintf("%s: %v", q, err))
		case !ok:
			parts = append(parts, q+": no result")
		default:
			parts = append(parts, fmt.Sprintf("%s = %g", q, v))
		}
	}
	return strings.Join(parts, ", ")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
