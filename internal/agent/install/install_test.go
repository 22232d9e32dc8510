package install

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/internal/trustgrant"
)

func agentDeployment(availableReplicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: trustgrant.AgentName, Namespace: trustgrant.DefaultNamespace, Generation: 2},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(int32(1))},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1,
			AvailableReplicas: availableReplicas},
	}
}

func agentPod(status corev1.ContainerStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "cairn-agent-5d8f-x", Namespace: trustgrant.DefaultNamespace, Labels: map[string]string{trustgrant.LabelName: trustgrant.AgentName}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{status}},
	}
}

func TestWaitAvailable(t *testing.T) {
	c := clients{kube: fake.NewClientset(agentDeployment(1))}
	if err := c.waitAvailable(t.Context(), trustgrant.DefaultNamespace, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestWaitFailsFastWithTheReason: a crash-looping agent fails the install at once, with its exit
// and its last log lines.
func TestWaitFailsFastWithTheReason(t *testing.T) {
	pod := agentPod(corev1.ContainerStatus{
		Name:         ContainerName,
		RestartCount: 3,
		State:        corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 40s restarting failed container"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
			Message: "starting\nError: no agent token: give --token-file FILE\n"}},
	})
	c := clients{kube: fake.NewClientset(agentDeployment(0), pod)}
	began := time.Now()
	err := c.waitAvailable(t.Context(), trustgrant.DefaultNamespace, time.Minute)
	if err == nil {
		t.Fatal("a crash-looping agent was taken for available")
	}
	if time.Since(began) > 10*time.Second {
		t.Errorf("waited %s for a pod that cannot start", time.Since(began))
	}
	for _, want := range []string{"cannot start", "CrashLoopBackOff", "last exit 1 (Error, restarts 3)", "no agent token", "kubectl -n cairn-system"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestWaitTimesOutWithThePodState(t *testing.T) {
	pod := agentPod(corev1.ContainerStatus{Name: ContainerName,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}})
	pod.Status.Phase = corev1.PodPending
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", Message: "containers with unready status: [agent]"}}
	c := clients{kube: fake.NewClientset(agentDeployment(0), pod)}
	err := c.waitAvailable(t.Context(), trustgrant.DefaultNamespace, 1500*time.Millisecond)
	if err == nil {
		t.Fatal("an agent that never became ready was taken for available")
	}
	for _, want := range []string{"not available within 1.5s", "phase Pending", "waiting: ContainerCreating", "ContainersNotReady"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestWaitReportsARefusedPod(t *testing.T) {
	d := agentDeployment(0)
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue,
		Reason: "FailedCreate", Message: `pods "cairn-agent-x" is forbidden: violates PodSecurity "restricted:latest": host namespaces`}}
	c := clients{kube: fake.NewClientset(d)}
	err := c.waitAvailable(t.Context(), trustgrant.DefaultNamespace, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") || !strings.Contains(err.Error(), "no pod was created") {
		t.Fatalf("want the ReplicaFailure reason, got %v", err)
	}
}

// TestFullGrantDeletesTheBackupOnlyRole: an install with the full grant over a backup-only one
// deletes the Role and RoleBinding cairn made in the agent's namespace, and leaves alone the ones
// it did not make.
func TestFullGrantDeletesTheBackupOnlyRole(t *testing.T) {
	g, err := trustgrant.NewOf(trustgrant.GrantBackupOnly, "backups", true)
	if err != nil {
		t.Fatal(err)
	}
	theirs := g.Role.DeepCopy()
	theirs.Namespace, theirs.Labels = "other", nil
	c := clients{kube: fake.NewClientset(g.Role, g.RoleBinding, theirs)}
	var out strings.Builder
	if err := c.deleteOwnNamespaceRole(t.Context(), "backups", &out); err != nil {
		t.Fatal(err)
	}
	rbac := c.kube.RbacV1()
	if _, err := rbac.Roles("backups").Get(t.Context(), trustgrant.AgentName, metav1.GetOptions{}); err == nil {
		t.Error("the backup-only Role is still there")
	}
	if _, err := rbac.RoleBindings("backups").Get(t.Context(), trustgrant.AgentName, metav1.GetOptions{}); err == nil {
		t.Error("the backup-only RoleBinding is still there")
	}
	if !strings.Contains(out.String(), "deleted Role backups/cairn-agent (of the backup-only grant)") {
		t.Errorf("output:\n%s", out.String())
	}
	if err := c.deleteOwnNamespaceRole(t.Context(), "other", &out); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.Roles("other").Get(t.Context(), trustgrant.AgentName, metav1.GetOptions{}); err != nil {
		t.Errorf("a Role cairn did not make was deleted: %v", err)
	}
	if err := c.deleteOwnNamespaceRole(t.Context(), "backups", &out); err != nil {
		t.Errorf("nothing to delete: %v", err)
	}
}
