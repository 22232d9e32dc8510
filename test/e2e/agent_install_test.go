//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/agent/install"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// TestAgentInstall builds the agent image from this checkout, imports it into the node, registers
// the cluster with a real vault on the host's loopback and installs the agent with `cairn agent
// install`; checks that the agent runs as its ServiceAccount with in-cluster configuration (the
// vault sees it healthy with the cluster's version), that it backs a namespace up and restores it
// after its deletion, both jobs handed out by the vault; installs again (nothing changes) and
// uninstalls: nothing is left.
func TestAgentInstall(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	began := time.Now()
	step := func(what string) { t.Logf("%s: %s", what, time.Since(began).Round(100*time.Millisecond)) }

	dir := t.TempDir()
	agentImageIn(t, cluster)
	step("agent image built and imported")

	v := startVault(t, "")
	grant, err := v.admin.RegisterCluster(ctx, vaultv1.ClusterRegistration{Name: "in-cluster"})
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "agent.token")
	passFile := filepath.Join(dir, "repo.pass")
	envFile := filepath.Join(dir, "storage.env")
	for path, content := range map[string]string{tokenFile: grant.AgentToken + "\n", passFile: passphrase + "\n", envFile: "AWS_ACCESS_KEY_ID=AKIAE2E\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ext, err := apiextensionsclient.NewForConfig(restConfigOf(t, cluster))
	if err != nil {
		t.Fatal(err)
	}
	const hookCRD = "backuphooks.clusterbackup.dataprotection.microsoft.com"
	_, err = ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, hookCRD, metav1.GetOptions{})
	crdsBefore := err == nil

	// The repository is a host directory of the test's, root-owned (the agent runs as root to
	// write it), below /tmp: mounted on top of the agent's own /tmp.
	storageDir := filepath.Join(dir, "repository")
	if err := os.Mkdir(storageDir, 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"agent", "install", "--vault", v.url, "--token-file", tokenFile,
		"--image", localcluster.AgentImage, "--image-pull-policy", "Never", "--host-network",
		"--api-server", fmt.Sprintf("127.0.0.1:%d", cluster.State.APIPort), "--host-path", storageDir, "--run-as-user", "0",
		"--secret", agentSecret + "=" + passFile, "--storage-env-file", envFile, "--timeout", "2m"}
	t.Cleanup(func() {
		if t.Failed() {
			_, _ = cairn(t, nil, "agent", "uninstall")
		}
	})
	if _, err := cairn(t, nil, args...); err != nil {
		t.Fatal(err)
	}
	step("agent installed and available")

	pod := waitRunningPod(ctx, t, client, trustgrant.DefaultNamespace, trustgrant.LabelName+"="+trustgrant.AgentName)
	if pod.Spec.ServiceAccountName != trustgrant.AgentName {
		t.Errorf("agent pod runs as %q", pod.Spec.ServiceAccountName)
	}
	if u := pod.Spec.SecurityContext.RunAsUser; u == nil || *u != 0 {
		t.Errorf("agent pod runs as uid %v, --run-as-user 0 asked for root", u)
	}
	// The agent read its token and reached the API server with in-cluster configuration: its
	// heartbeat carries the cluster's version.
	v.waitHealthy(t, "in-cluster")
	registered, err := v.admin.GetCluster(ctx, "in-cluster")
	if want := serverVersion(t, client); err != nil || registered.KubernetesVersion != want {
		t.Fatalf("the vault sees the agent's cluster as %+v (%v), want Kubernetes %s", registered, err, want)
	}
	step("agent healthy in the vault (kubernetes " + registered.KubernetesVersion + ")")

	// A backup and a restore, handed out by the vault to the agent in its pod.
	const ns = "in-cluster-agent"
	createNamespace(ctx, t, client, ns)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns}, Data: map[string]string{"greeting": "from the pod"}}
	if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	day := policy.Duration(24 * time.Hour)
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "daily", Schedule: policy.Schedule{DailyAt: "03:00"},
		Retention: policy.Retention{Default: day}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: ns, Cluster: "in-cluster", Policy: "daily",
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}},
		Storage: vaultv1.StorageLocation{URL: "file://" + storageDir, PassphraseSecret: agentSecret}}); err != nil {
		t.Fatal(err)
	}
	job, err := v.admin.BackupNow(ctx, ns, vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	backup := v.waitJob(t, job.ID, 2*time.Minute)
	if backup.State != vaultv1.JobSucceeded || backup.Result == nil || backup.Result.RecoveryPoint == nil || backup.Result.RecoveryPoint.Items == 0 {
		t.Fatalf("backup by the in-cluster agent: %+v", backup)
	}
	if inRepo := repositoryBackups(t, "file://"+storageDir); !inRepo[backup.Spec.Backup.RecoveryPoint] {
		t.Fatalf("recovery point %s not complete in the repository: %v", backup.Spec.Backup.RecoveryPoint, inRepo)
	}
	step("backed up by the agent in its pod")
	deleteNamespace(ctx, t, client, ns)
	job, err = v.admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: backup.Spec.Backup.RecoveryPoint})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, job.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("restore by the in-cluster agent: %+v", j)
	}
	if got, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{}); err != nil || got.Data["greeting"] != "from the pod" {
		t.Fatalf("restored configmap: %+v %v", got, err)
	}
	deleteNamespace(ctx, t, client, ns)
	step("restored by the agent in its pod")

	// What the ServiceAccount may do, from inside the pod: cluster info lists nodes, namespaces and
	// every resource type through the in-cluster configuration.
	stdout, stderr, code := execInPod(ctx, t, restConfigOf(t, cluster), client, pod, install.ContainerName, []string{"/cairn", "cluster", "info", "-o", "json"})
	if code != 0 || !strings.Contains(stdout, `"resourceTypes"`) || !strings.Contains(stdout, `"readyNodes": 1`) {
		t.Errorf("cairn cluster info in the agent's pod: code %d\n%s%s", code, stdout, stderr)
	}

	// A second install changes nothing: the same pod goes on running.
	if _, err := cairn(t, nil, args...); err != nil {
		t.Fatal(err)
	}
	again := waitRunningPod(ctx, t, client, trustgrant.DefaultNamespace, trustgrant.LabelName+"="+trustgrant.AgentName)
	if again.UID != pod.UID {
		t.Errorf("a repeated install replaced the agent's pod %s with %s", pod.Name, again.Name)
	}
	step("second install: no change")

	uninstall := []string{"agent", "uninstall"}
	if !crdsBefore {
		uninstall = append(uninstall, "--remove-crds")
	}
	if _, err := cairn(t, nil, uninstall...); err != nil {
		t.Fatal(err)
	}
	step("uninstalled")
	if _, err := client.CoreV1().Namespaces().Get(ctx, trustgrant.DefaultNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s is still there: %v", trustgrant.DefaultNamespace, err)
	}
	if _, err := client.RbacV1().ClusterRoles().Get(ctx, trustgrant.AgentName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole is still there: %v", err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Get(ctx, trustgrant.AgentName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRoleBinding is still there: %v", err)
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: trustgrant.LabelName + "=" + trustgrant.AgentName})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("agent pods left: %v %v", pods, err)
	}
	_, err = ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, hookCRD, metav1.GetOptions{})
	if crdsBefore && err != nil {
		t.Errorf("uninstall without --remove-crds removed %s: %v", hookCRD, err)
	}
	if !crdsBefore && !apierrors.IsNotFound(err) {
		t.Errorf("uninstall --remove-crds left %s: %v", hookCRD, err)
	}
	// Uninstall is idempotent.
	if _, err := cairn(t, nil, "agent", "uninstall"); err != nil {
		t.Errorf("second uninstall: %v", err)
	}
}

// TestAgentInstallReportsWhyTheAgentDoesNotRun: an image the node does not have fails the install
// at once, naming the reason the kubelet gives, instead of at the timeout.
func TestAgentInstallReportsWhyTheAgentDoesNotRun(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "agent.token")
	if err := os.WriteFile(tokenFile, []byte("cairn_agent_e2e\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const ns = "cairn-e2e-noimage"
	t.Cleanup(func() { _, _ = cairn(t, nil, "agent", "uninstall", "--namespace", ns) })
	began := time.Now()
	_, err := cairn(t, nil, "agent", "install", "--namespace", ns, "--vault", "http://127.0.0.1:1", "--token-file", tokenFile,
		"--image", "local/cairn-agent:absent", "--image-pull-policy", "Never", "--timeout", "2m")
	if err == nil {
		t.Fatal("an agent without its image was installed as running")
	}
	t.Logf("install failed as it should:\n%v", err)
	if took := time.Since(began); took > time.Minute {
		t.Errorf("took %s to notice the image is missing", took)
	}
	for _, want := range []string{"cannot start", "ErrImageNeverPull", "kubectl -n " + ns} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := cairn(t, nil, "agent", "uninstall", "--namespace", ns); err != nil {
		t.Fatal(err)
	}
}
