package metrics

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	agentmetrics "github.com/cairnbackup/cairn/internal/agent/metrics"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	blobmetrics "github.com/cairnbackup/cairn/internal/blob/metrics"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// rulesDir holds the alert rules shipped for the vault's metrics.
var rulesDir = filepath.Join("..", "..", "..", "deploy", "monitoring")

// TestAlertRules checks the PrometheusRule in deploy/monitoring with promtool: its spec is a valid
// rules file, and the alerts fire (and stay quiet) as rules-test.yaml says. Every metric the rules
// name is one the vault or the agent exports.
func TestAlertRules(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(rulesDir, "cairn-alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string         `json:"kind"`
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &rule); err != nil || rule.Kind != "PrometheusRule" || rule.Spec["groups"] == nil {
		t.Fatalf("cairn-alerts.yaml: kind %q, %v", rule.Kind, err)
	}
	exported := exportedNames(t)
	for _, name := range regexp.MustCompile(`cairn_[a-z_]+`).FindAllString(string(raw), -1) {
		if !slices.Contains(exported, name) {
			t.Errorf("the rules use %s, which neither the vault nor the agent exports (they export %v)", name, exported)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed: apt-get install -y prometheus (or make deps)")
		}
		t.Skip("promtool is not installed: apt-get install -y prometheus (or make deps)")
	}
	dir := t.TempDir()
	spec, err := yaml.Marshal(rule.Spec)
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join(rulesDir, "rules-test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"rules.yaml": spec, "rules-test.yaml": tests} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "rules-test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// exportedNames are the names of the metrics cairn exports, histograms' series included, as each
// owner describes them: the vault's registry, the agent's own metrics (package agent/metrics) and
// its storage's (package blob/metrics).
func exportedNames(t *testing.T) []string {
	t.Helper()
	st, err := store.OpenSQLite(t.Context(), t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := New(st, time.Now, slog.New(slog.DiscardHandler))
	ch := make(chan *prometheus.Desc, 100)
	for _, c := range []prometheus.Collector{m.ticks, m.lag, m.tickTime, m.requests, m.jobTime, m.leading, m.dbCopies, m.dbCopied, newStoreCollector(st, time.Now, nil)} {
		c.Describe(ch)
	}
	agentmetrics.New().Describe(ch)
	storage := &describer{ch: ch}
	if _, err := blobmetrics.New(memory.New(), storage, "mem"); err != nil {
		t.Fatal(err)
	}
	close(ch)
	fq := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	var out []string
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			out = append(out, m[1], m[1]+"_bucket", m[1]+"_count", m[1]+"_sum")
		}
	}
	return out
}

// describer is a prometheus.Registerer that sends the descriptions of what registers with it.
type describer struct {
	ch chan<- *prometheus.Desc
}

func (d *describer) Register(c prometheus.Collector) error {
	c.Describe(d.ch)
	return nil
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		c.Describe(d.ch)
	}
}

func (d *describer) Unregister(prometheus.Collector) bool { return false }

// TestDashboard checks the Grafana dashboards in deploy/monitoring, the vault's and the agents':
// every panel's query names only metrics cairn exports and is valid PromQL (promtool checks it as
// a recording rule).
func TestDashboard(t *testing.T) {
	exported := exportedNames(t)
	for _, file := range []string{"cairn-vault-dashboard.json", "cairn-agent-dashboard.json"} {
		t.Run(file, func(t *testing.T) { checkDashboard(t, file, exported) })
	}
}

func checkDashboard(t *testing.T, file string, exported []string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(rulesDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := yaml.Unmarshal(raw, &dash); err != nil || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("%s: %v", file, err)
	}
	var rules []map[string]string
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		for i, tg := range p.Targets {
			for _, name := range regexp.MustCompile(`cairn_[a-z_]+`).FindAllString(tg.Expr, -1) {
				if !slices.Contains(exported, name) {
					t.Errorf("panel %q uses %s, which neither the vault nor the agent exports", p.Title, name)
				}
			}
			rules = append(rules, map[string]string{"record": fmt.Sprintf("panel_%d_%d", p.ID, i), "expr": tg.Expr})
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed: apt-get install -y prometheus (or make deps)")
		}
		t.Skip("promtool is not installed: apt-get install -y prometheus (or make deps)")
	}
	panels, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "panels.yaml")
	if err := os.WriteFile(path, panels, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("the panels' queries are not valid PromQL: %v\n%s", err, out)
	}
}
