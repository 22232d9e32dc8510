//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/smtptest"
	"github.com/cairnbackup/cairn/internal/vault/client"
	"github.com/cairnbackup/cairn/internal/vault/notify"
)

// hookLog is a webhook receiver on loopback: the events it got, by type and instance or cluster.
type hookLog struct {
	mu       sync.Mutex
	secret   string
	received []string
	badSig   int
}

func (h *hookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	sig := r.Header.Get(notify.HeaderSignature)
	var ts int64
	if _, err := fmt.Sscanf(sig, "t=%d,", &ts); err != nil || sig != notify.Sign(h.secret, time.Unix(ts, 0), body) {
		h.badSig++
	}
	var p notify.Payload
	_ = json.Unmarshal(body, &p)
	who := p.Event.Instance
	if who == "" {
		who = p.Event.Cluster
	}
	h.received = append(h.received, p.Event.Type+" "+who, fmt.Sprintf("%s job %d", p.Event.Type, p.Event.Job))
}

func (h *hookLog) count(what string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.received {
		if r == what {
			n++
		}
	}
	return n
}

// TestVaultNotifies: through a real vault, agent and cluster, a failing backup is sent once to a
// signed webhook and once by e-mail through a real SMTP server; with the agent stopped past the
// objective, the instance breaches (one notification) and the agent is reported unhealthy; once
// the agent is back, the scheduled backup it runs meets the objective again.
func TestVaultNotifies(t *testing.T) {
	ctx := t.Context()
	ns := "vnotify"
	createNamespace(ctx, t, clientOf(t, cluster), ns)
	smtp := smtptest.Start(t)
	hook := &hookLog{secret: "hmac-key"}
	srv := httptest.NewServer(hook)
	defer srv.Close()

	v := startVault(t, "")
	t.Cleanup(func() {
		if t.Failed() {
			logJobs(t, v, "good")
			logJobs(t, v, "bad")
		}
	})
	secrets := secretsDir(t)
	onVaultClock := func(o *agent.Options) { o.Now = v.clock.now } // its recovery points are dated on the moved clock
	token, stop := v.register(t, "notify", restConfigOf(t, cluster), secrets, onVaultClock)
	for _, r := range []vaultv1.NotificationRule{
		{Name: "ops", Events: []string{vaultv1.EventJobFailed, vaultv1.EventRPOBreached, vaultv1.EventAgentUnhealthy}, Secret: hook.secret,
			Channel: vaultv1.NotificationChannel{Type: vaultv1.ChannelWebhook, URL: srv.URL}},
		{Name: "mail", Events: []string{vaultv1.EventJobFailed},
			Channel: vaultv1.NotificationChannel{Type: vaultv1.ChannelEmail, SMTP: smtp.Addr, From: "vault@example.com", To: []string{"oncall@example.com"}}},
	} {
		if _, err := v.admin.CreateNotificationRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	week := policy.Duration(7 * 24 * time.Hour)
	for _, name := range []string{"hourly", "hourly-too"} {
		if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: name, Schedule: policy.Schedule{EveryHours: 1}, Retention: policy.Retention{Default: week}}); err != nil {
			t.Fatal(err)
		}
	}
	storage := "file://" + t.TempDir()
	for _, in := range []vaultv1.InstanceSpec{
		{Name: "good", Cluster: "notify", Policy: "hourly", Backup: vaultv1.BackupConfig{IncludeNamespaces: []string{ns}},
			Storage: vaultv1.StorageLocation{URL: storage, PassphraseSecret: agentSecret}},
		{Name: "bad", Cluster: "notify", Policy: "hourly-too", Backup: vaultv1.BackupConfig{IncludeNamespaces: []string{ns}},
			Storage: vaultv1.StorageLocation{URL: storage + "-bad", PassphraseSecret: "no-such-secret"}},
	} {
		if _, err := v.admin.CreateInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
	}

	// Creating "bad" queued its validation, which fails for the missing secret: one notification.
	waitFor(t, 30*time.Second, "the failed validation's notifications", func() bool {
		return hook.count("job-failed bad") == 1 && len(smtp.Messages(t)) == 1
	})
	// A failing backup: one webhook call, one e-mail, however many ticks pass.
	failing, err := v.admin.BackupNow(ctx, "bad", vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, failing.ID, time.Minute); j.State != vaultv1.JobFailed {
		t.Fatalf("backup with a missing secret: %+v", j)
	}
	waitFor(t, 30*time.Second, "the failure's notifications", func() bool {
		return hook.count(fmt.Sprintf("job-failed job %d", failing.ID)) == 1 && len(smtp.Messages(t)) == 2
	})
	good, err := v.admin.BackupNow(ctx, "good", vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, good.ID, time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("good backup: %+v", j)
	}
	time.Sleep(3 * time.Second) // six ticks
	if n, all := hook.count(fmt.Sprintf("job-failed job %d", failing.ID)), hook.count("job-failed bad"); n != 1 || all != 2 {
		t.Errorf("the failed backup was sent to the webhook %d times, the failures of bad %d times (want 1 and 2: its validation and its backup)", n, all)
	}
	msgs := smtp.Messages(t)
	if len(msgs) != 2 {
		t.Fatalf("%d e-mails, want two: the failed validation and the failed backup", len(msgs))
	}
	var backupMail string
	for _, m := range msgs {
		body, _ := io.ReadAll(m.Body)
		if strings.Contains(m.Header.Get("Subject"), "Job failed: bad") && strings.Contains(string(body), fmt.Sprintf("backup job %d of instance \"bad\" failed", failing.ID)) {
			backupMail = string(body)
		}
	}
	if !strings.Contains(backupMail, "no-such-secret") {
		t.Errorf("no e-mail says that backup job %d failed and why: %q", failing.ID, backupMail)
	}

	// The agent stops; two hours and a minute later "good" breaches its 2 h objective.
	stop()
	v.clock.advance(2*time.Hour + time.Minute)
	waitFor(t, 30*time.Second, "the breach and the silent agent to be sent", func() bool {
		return hook.count("rpo-breached good") == 1 && hook.count("agent-unhealthy notify") == 1
	})
	in, err := v.admin.GetInstance(ctx, "good")
	if err != nil || in.RPOStatus == nil || in.RPOStatus.State != policy.RPOBreached {
		t.Fatalf("good after two hours without its agent: %+v, %v", in.RPOStatus, err)
	}

	// The agent comes back and runs the scheduled backup queued meanwhile: the objective is met.
	v.runAgent(t, "notify", token, restConfigOf(t, cluster), secrets, onVaultClock)
	waitFor(t, 2*time.Minute, "good to meet its objective again", func() bool {
		in, err := v.admin.GetInstance(ctx, "good")
		return err == nil && in.RPOStatus != nil && in.RPOStatus.State == policy.RPOMet
	})
	time.Sleep(2 * time.Second)
	if n, m := hook.count("rpo-breached good"), hook.count("agent-unhealthy notify"); n != 1 || m != 1 {
		t.Errorf("breach sent %d times, silence %d times; want once each", n, m)
	}
	if hook.badSig != 0 {
		t.Errorf("%d webhook calls without a valid signature", hook.badSig)
	}
	log, err := v.admin.ListDeliveries(ctx, client.DeliveryFilter{Rule: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range log.Items {
		if d.State != vaultv1.DeliveryDelivered {
			t.Errorf("delivery %d (%s): %s %s", d.ID, d.Event.Type, d.State, d.LastError)
		}
	}
}
