//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/vault"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

const (
	// chromiumPath is Debian's Chromium (hack/install-deps.sh); the browser script launches it.
	chromiumPath = "/usr/bin/chromium"
	// browserScriptTimeout bounds the whole browser script: two jobs it waits for included.
	browserScriptTimeout = 5 * time.Minute
)

// TestBackupCenter drives the Backup center (the vault's web dashboard, served beside the API) in
// headless Chromium: test/browser/backup-center.mjs signs in as an operator, finds a real failed
// job first on the overview and reads its logs, sees an instance's last test restore passed, starts a backup and a restore dry run from the
// browser and watches both run to success on the agent, checks that a reader sees no
// action and has a forged one refused, browses the copy of a volume in a recovery point and
// downloads one file of it (its content checked), and saves screenshots of the main pages (light
// and dark).
// The data is real: a vault served in-process, the shared cluster's agent, a namespace with a
// ConfigMap, a Deployment and a Service, one instance backed up and one whose backup fails
// because the agent lacks its passphrase secret, and one instance whose backup copies a volume's
// files into its repository (the agent's data mover, with the agent's image).
func TestBackupCenter(t *testing.T) {
	node, modules := browserTestDeps(t)
	ctx := t.Context()
	v := startVault(t, "", func(o *vault.Options) {
		o.API.Prices = vaultv1.Prices{Currency: "EUR", NamespaceMonth: 2, StorageGiBMonth: 0.02, SnapshotGiBMonth: 0.05}
	})
	// The policy runs at the top of every hour: keep the vault's clock clear of it, so that no
	// scheduled job joins the ones the browser looks for.
	if now := v.clock.now(); now.Truncate(time.Hour).Add(time.Hour).Sub(now) < 15*time.Minute {
		v.clock.advanceTo(now.Truncate(time.Hour).Add(time.Hour + 5*time.Minute))
	}
	// The agent's data mover copies volumes with the agent's image (a pod-less agent names it).
	image := agentImageIn(t, cluster)
	ensureNamespace(ctx, t, clientOf(t, cluster), trustgrant.DefaultNamespace)
	v.register(t, "source", restConfigOf(t, cluster), secretsDir(t), func(o *agent.Options) { o.Mover.Image = image })

	const ns = "center-shop"
	deployCenterShop(ctx, t, ns)
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "hourly", Schedule: policy.Schedule{EveryHours: 1},
		Retention: policy.Retention{Default: policy.Duration(7 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	// Instance A is protected and has a recovery point.
	const protected = "shop"
	if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: protected, Cluster: "source", Policy: "hourly",
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}},
		Storage: vaultv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: agentSecret}}); err != nil {
		t.Fatal(err)
	}
	seeded, err := v.admin.BackupNow(ctx, protected, vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, seeded.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("backup of %s: %s: %s", protected, j.State, j.Error)
	}
	rps := v.waitRecoveryPoints(t, protected, 1)
	recoveryPoint := names(rps)[0]
	// A test restore of A proves that point restores: the instance page shows it passed.
	tested, err := v.admin.TestRestoreInstance(ctx, protected, vaultv1.TestRestoreRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, tested.ID, 5*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("test restore of %s: %s: %s", protected, j.State, j.Error)
	}

	// Instance B's backup fails: its storage names a passphrase secret the agent does not hold. A
	// cluster has one instance per policy: B's runs daily, twelve hours from now.
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "offsite", Schedule: policy.Schedule{DailyAt: v.clock.now().UTC().Add(12 * time.Hour).Format("15:04")},
		Retention: policy.Retention{Default: policy.Duration(30 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	const failing = "shop-offsite"
	if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: failing, Cluster: "source", Policy: "offsite",
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}},
		Storage: vaultv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: "offsite-passphrase"}}); err != nil {
		t.Fatal(err)
	}
	job, err := v.admin.BackupNow(ctx, failing, vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	failed := v.waitJob(t, job.ID, 2*time.Minute)
	if failed.State != vaultv1.JobFailed {
		t.Fatalf("backup of %s: %s, want failed", failing, failed.State)
	}
	if logs, err := v.admin.JobLogs(ctx, failed.ID, client.LogFilter{}); err != nil || len(logs.Items) == 0 {
		t.Fatalf("failed job %d has no log lines: %+v %v", failed.ID, logs, err)
	}

	// Instance C copies its volume into the repository: the browser browses the copy and downloads
	// one file of it through the agent. Daily, like B, at another hour.
	const copiedNS = "center-data"
	sum := deployWriter(ctx, t, copiedNS)
	t.Cleanup(func() { deleteNamespace(context.Background(), t, clientOf(t, cluster), copiedNS) })
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "copies", Schedule: policy.Schedule{DailyAt: v.clock.now().UTC().Add(9 * time.Hour).Format("15:04")},
		Retention: policy.Retention{Default: policy.Duration(30 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	const copiedInstance = "data-copies"
	if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: copiedInstance, Cluster: "source", Policy: "copies",
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{copiedNS}, SnapshotVolumes: true, VolumeData: "copy"},
		Storage: vaultv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: agentSecret}}); err != nil {
		t.Fatal(err)
	}
	copyJob, err := v.admin.BackupNow(ctx, copiedInstance, vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, copyJob.ID, 4*time.Minute); j.State != vaultv1.JobSucceeded || j.Result == nil || j.Result.RecoveryPoint == nil ||
		j.Result.RecoveryPoint.VolumesCopied != 1 {
		t.Fatalf("backup of %s with a copy: %s: %s %+v", copiedInstance, j.State, j.Error, j.Result)
	}
	copiedPoint := names(v.waitRecoveryPoints(t, copiedInstance, 1))[0]

	// Named without their roles, so that the role the header shows is the role.
	operator, err := v.admin.CreateToken(ctx, "alice", "operator", "")
	if err != nil {
		t.Fatal(err)
	}
	reader, err := v.admin.CreateToken(ctx, "bob", "reader", "")
	if err != nil {
		t.Fatal(err)
	}

	// A second vault of the server, made by its administrator: the browser adds it to the
	// reader's session with its token and switches between the two.
	serverAdminToken, err := os.ReadFile(filepath.Join(v.dataDir, vault.ServerAdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	serverAdmin, err := client.New(v.url, strings.TrimSpace(string(serverAdminToken)), nil)
	if err != nil {
		t.Fatal(err)
	}
	staging, err := serverAdmin.CreateVault(ctx, "staging", &vaultv1.TokenRequest{Name: "carol", Role: "operator"})
	if err != nil {
		t.Fatal(err)
	}

	shots := screenshotDir(t, "backup-center")
	t.Logf("seeded: instance %s (recovery point %s), failed job %d of %s; screenshots in %s",
		protected, recoveryPoint, failed.ID, failing, shots)
	runBrowserScript(t, node, modules, "backup-center.mjs", []string{
		"CAIRN_UI_URL=" + v.url,
		"CAIRN_OPERATOR_TOKEN=" + operator.Token,
		"CAIRN_READER_TOKEN=" + reader.Token,
		"CAIRN_OTHER_VAULT_TOKEN=" + staging.Token.Token,
		"CAIRN_FAILED_JOB=" + strconv.FormatInt(failed.ID, 10),
		"CAIRN_INSTANCE=" + protected,
		"CAIRN_RECOVERY_POINT=" + recoveryPoint,
		"CAIRN_NAMESPACE=" + ns,
		"CAIRN_SCREENSHOTS=" + shots,
		"CAIRN_COPY_POINT=" + copiedPoint,
		"CAIRN_COPY_VOLUME=" + copiedNS + "/data",
		"CAIRN_COPY_FILE=blob.sha256",
		"CAIRN_COPY_CONTENT=" + sum,
	})

	// What the browser did, as the vault saw it: the operator's backup and dry run really ran on
	// the agent; the reader's forged backup queued nothing; the dry run created nothing.
	backups, err := v.admin.ListJobs(ctx, client.JobFilter{Kind: agentv1.KindBackup, Instance: protected})
	if err != nil {
		t.Fatal(err)
	}
	var fromBrowser []vaultv1.Job
	for _, j := range backups.Items {
		if j.ID != seeded.ID && j.CreatedBy == operator.Name {
			fromBrowser = append(fromBrowser, j)
		}
	}
	if len(backups.Items) != 2 || len(fromBrowser) != 1 || fromBrowser[0].State != vaultv1.JobSucceeded {
		t.Errorf("backup jobs of %s after the browser: %+v, want the seeded one and one succeeded by %s", protected, backups.Items, operator.Name)
	}
	restores, err := v.admin.ListJobs(ctx, client.JobFilter{Kind: agentv1.KindRestore})
	if err != nil {
		t.Fatal(err)
	}
	if len(restores.Items) != 1 {
		t.Errorf("restore jobs after the browser: %+v, want the one dry run", restores.Items)
	} else if r := restores.Items[0]; r.State != vaultv1.JobSucceeded || r.CreatedBy != operator.Name || r.Spec.Restore == nil ||
		!r.Spec.Restore.Options.DryRun || r.Spec.Restore.Options.NamespaceMapping[ns] != ns+"-copy" {
		t.Errorf("restore job from the browser: %+v %+v, want a succeeded dry run by %s mapping %s to %s-copy", r, r.Spec.Restore, operator.Name, ns, ns)
	}
	// The reader's forged backup carried a valid CSRF token and Origin: the role check refused it,
	// and the audit log says so.
	audit, err := v.admin.ListAudit(ctx, client.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	refused := false
	for _, e := range audit.Items {
		refused = refused || (e.Principal == reader.Name && e.Status == http.StatusForbidden && strings.HasSuffix(e.Operation, "/backup"))
	}
	if !refused {
		t.Errorf("no refused backup by %s in the audit log: %+v", reader.Name, audit.Items)
	}
	// The browser's download went through a fetch job on the agent, asked for and served to the
	// operator, and audited.
	fetches, err := v.admin.ListJobs(ctx, client.JobFilter{Kind: agentv1.KindFetch})
	if err != nil {
		t.Fatal(err)
	}
	if len(fetches.Items) != 1 || fetches.Items[0].State != vaultv1.JobSucceeded || fetches.Items[0].CreatedBy != operator.Name ||
		fetches.Items[0].Result == nil || fetches.Items[0].Result.Fetch == nil || fetches.Items[0].Result.Fetch.Path != "blob.sha256" {
		t.Errorf("fetch jobs after the browser: %+v, want one succeeded by %s", fetches.Items, operator.Name)
	}
	downloaded := false
	for _, e := range audit.Items {
		downloaded = downloaded || (e.Principal == operator.Name && e.Status == http.StatusOK && e.Operation == "GET /api/v1/jobs/{id}/content")
	}
	if !downloaded {
		t.Errorf("no download by %s in the audit log", operator.Name)
	}
	if _, err := clientOf(t, cluster).CoreV1().Namespaces().Get(ctx, ns+"-copy", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dry run created namespace %s-copy: %v", ns, err)
	}
}

// deployCenterShop makes namespace ns with a small application: a ConfigMap, a Deployment and a
// Service (no volumes). The namespace is deleted when the test ends.
func deployCenterShop(ctx context.Context, t *testing.T, ns string) {
	t.Helper()
	kube := clientOf(t, cluster)
	createNamespace(ctx, t, kube, ns)
	t.Cleanup(func() { deleteNamespace(context.Background(), t, kube, ns) })
	labels := map[string]string{"app": "web"}
	create := metav1.CreateOptions{}
	if _, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-config"},
		Data: map[string]string{"LISTEN": ":8080"}}, create); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](0), Containers: []corev1.Container{{
					Name: "web", Image: localcluster.BusyboxImage, ImagePullPolicy: corev1.PullNever,
					Command: []string{"sh", "-c", "exec httpd -f -p 8080 -h /tmp"},
					Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	}, create); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}},
		create); err != nil {
		t.Fatal(err)
	}
}

// browserTestDeps finds node, Debian's Chromium and the playwright-core that
// hack/install-browser-tests.sh installed (make browser-tests-deps). Outside CI a missing one skips
// the test, saying how to install it; under CI it fails the test.
func browserTestDeps(t *testing.T) (node, modules string) {
	t.Helper()
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	modules, err = browserTestsModules(bins)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	if node, err = exec.LookPath("node"); err != nil {
		missing = append(missing, "node (Node.js 20 or newer: apt-get install -y nodejs npm)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath+" (hack/install-deps.sh: Debian's chromium)")
	}
	if _, err := os.Stat(filepath.Join(modules, "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core in "+modules+" (hack/install-browser-tests.sh, or make browser-tests-deps)")
	}
	if len(missing) == 0 {
		return node, modules
	}
	t.Fatal("browser test dependencies missing: " + strings.Join(missing, "; "))
	return "", ""
}

// browserTestsModules is the node_modules folder hack/install-browser-tests.sh fills:
// $CAIRN_CACHE/npm/browser-tests-<first 16 hex digits of the SHA-256 of test/browser/package-lock.json>.
func browserTestsModules(bins localcluster.Binaries) (string, error) {
	lock, err := os.ReadFile(filepath.Join(bins.Repo, "test", "browser", "package-lock.json"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(lock)
	return filepath.Join(bins.Cache, "npm", "browser-tests-"+hex.EncodeToString(sum[:])[:16], "node_modules"), nil
}

// screenshotDir is where a browser script saves its screenshots, emptied first:
// $CAIRN_ARTIFACTS/<name>, or artifacts/<name> in the checkout's state (.cache).
func screenshotDir(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("CAIRN_ARTIFACTS")
	if dir == "" {
		bins, err := localcluster.DefaultBinaries()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(bins.State, "artifacts")
	}
	dir = filepath.Join(dir, name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runBrowserScript runs test/browser/<script> with env added, its output streamed into the test
// log line by line, and fails the test if it exits non-zero or outlasts browserScriptTimeout.
// Chromium runs in the script's process group, which is killed afterwards.
func runBrowserScript(t *testing.T, node, modules, script string, env []string) {
	t.Helper()
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), browserScriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(bins.Repo, "test", "browser", script))
	cmd.Env = append(os.Environ(), append(env, "NODE_PATH="+modules, "CHROMIUM="+chromiumPath, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")...)
	out := &lineLogger{t: t, prefix: "browser: "}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	began := time.Now()
	err = cmd.Run()
	if cmd.Process != nil {
		// Whatever the script left running (a Chromium after a crash) goes with its group.
		if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
			t.Logf("kill the browser script's process group: %v", kerr)
		}
	}
	out.flush()
	switch {
	case ctx.Err() != nil && t.Context().Err() == nil:
		t.Fatalf("%s did not finish within %s", script, browserScriptTimeout)
	case err != nil:
		t.Fatalf("%s failed after %s: %v", script, time.Since(began).Round(time.Second), err)
	}
	t.Logf("%s passed in %s", script, time.Since(began).Round(time.Second))
}

// lineLogger writes what it is given to t.Log one line at a time.
type lineLogger struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.t.Log(l.prefix + string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.t.Log(l.prefix + string(l.buf))
		l.buf = nil
	}
}
