//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/cairnbackup/cairn/internal/agent/install"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// stubVault stands in for the vault: it answers 204 to everything and keeps the heartbeats.
type stubVault struct {
	mu         sync.Mutex
	heartbeats []wire.Heartbeat
	auth       map[string]bool
}

func (v *stubVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	v.mu.Lock()
	v.auth[r.Header.Get("Authorization")] = true
	if r.URL.Path == "/api/v1/agent/heartbeat" {
		var hb wire.Heartbeat
		if json.Unmarshal(body, &hb) == nil {
			v.heartbeats = append(v.heartbeats, hb)
		}
	}
	v.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (v *stubVault) lastHeartbeat() (wire.Heartbeat, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.heartbeats) == 0 {
		return wire.Heartbeat{}, false
	}
	return v.heartbeats[len(v.heartbeats)-1], true
}

// TestAgentInstall builds the agent image from this checkout, imports it into the node, installs
// the agent with `cairn agent install` against a stand-in vault on the host's loopback, checks
// that the agent runs as its ServiceAccount with in-cluster configuration (its heartbeats carry
// the token and the cluster's version), installs again (nothing changes), and uninstalls:
// nothing is left.
func TestAgentInstall(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	began := time.Now()
	step := func(what string) { t.Logf("%s: %s", what, time.Since(began).Round(100*time.Millisecond)) }

	dir := t.TempDir()
	binary := cairnBinary(t)
	step("cairn built")
	image := filepath.Join(dir, "agent-image.tar")
	if err := localcluster.BuildAgentImage(ctx, binary, localcluster.AgentImage, image); err != nil {
		t.Fatal(err)
	}
	if err := cluster.ImportImage(ctx, image); err != nil {
		t.Fatal(err)
	}
	step("agent image built and imported")

	vault := &stubVault{auth: map[string]bool{}}
	srv := httptest.NewServer(vault)
	t.Cleanup(srv.Close)
	const token = "cairn_agent_e2e_0123456789"
	tokenFile := filepath.Join(dir, "agent.token")
	passFile := filepath.Join(dir, "repo.pass")
	envFile := filepath.Join(dir, "storage.env")
	for path, content := range map[string]string{tokenFile: token + "\n", passFile: "correct horse\n", envFile: "AWS_ACCESS_KEY_ID=AKIAE2E\n"} {
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

	args := []string{"agent", "install", "--vault", srv.URL, "--token-file", tokenFile,
		"--image", localcluster.AgentImage, "--image-pull-policy", "Never", "--host-network",
		"--api-server", fmt.Sprintf("127.0.0.1:%d", cluster.State.APIPort),
		"--secret", "e2e-repo=" + passFile, "--storage-env-file", envFile, "--timeout", "2m"}
	t.Cleanup(func() {
		if t.Failed() {
			_, _ = cairn(t, nil, "agent", "uninstall")
		}
	})
	if _, err := cairn(t, nil, args...); err != nil {
		t.Fatal(err)
	}
	step("agent installed and available")

	pod := waitRunningPod(ctx, t, client, install.DefaultNamespace, install.LabelName+"="+install.AgentName)
	if pod.Spec.ServiceAccountName != install.AgentName {
		t.Errorf("agent pod runs as %q", pod.Spec.ServiceAccountName)
	}
	if u := pod.Spec.SecurityContext.RunAsUser; u == nil || *u != install.DefaultRunAsUser {
		t.Errorf("agent pod runs as uid %v", u)
	}
	// The agent read its token as non-root and reached the API server with in-cluster
	// configuration: its heartbeat carries the cluster's version.
	var hb wire.Heartbeat
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		var ok bool
		hb, ok = vault.lastHeartbeat()
		return ok && hb.KubernetesVersion != "", nil
	})
	if err != nil {
		t.Fatalf("no heartbeat with the cluster's version reached the vault (last %+v): %v", hb, err)
	}
	vault.mu.Lock()
	if !vault.auth["Bearer "+token] || len(vault.auth) != 1 {
		t.Errorf("the vault saw authorizations %v, want only the agent token", vault.auth)
	}
	vault.mu.Unlock()
	step("heartbeat received (kubernetes " + hb.KubernetesVersion + ")")
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
	again := waitRunningPod(ctx, t, client, install.DefaultNamespace, install.LabelName+"="+install.AgentName)
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
	if _, err := client.CoreV1().Namespaces().Get(ctx, install.DefaultNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s is still there: %v", install.DefaultNamespace, err)
	}
	if _, err := client.RbacV1().ClusterRoles().Get(ctx, install.AgentName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole is still there: %v", err)
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Get(ctx, install.AgentName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRoleBinding is still there: %v", err)
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: install.LabelName + "=" + install.AgentName})
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
