//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/policy"
)

// TestVaultValidatesInstances: a real agent validates each instance when it is created. One that
// will back up passes every check (a CSI claim with its snapshot class; a storage with no
// repository yet takes a test write, and once backed up its repository opens); one with a missing
// secret, a missing namespace, a claim on a hostPath volume and a missing hook fails, each check
// naming what is wrong.
func TestVaultValidatesInstances(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	good, bad := "vvalid", "vvalid-host"
	createNamespace(ctx, t, client, good)
	createNamespace(ctx, t, client, bad)
	if _, err := client.CoreV1().PersistentVolumeClaims(good).Create(ctx, claim(good, "data", localcluster.CSIStorageClass), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	staticClaim(ctx, t, bad, "vvalid-host-pv")
	waitFor(t, time.Minute, "the claims to bind", func() bool {
		for _, ns := range []string{good, bad} {
			if c, err := client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{}); err != nil || c.Status.Phase != corev1.ClaimBound {
				return false
			}
		}
		return true
	})

	v := startVault(t, "")
	v.register(t, "valid", restConfigOf(t, cluster), secretsDir(t))
	week := policy.Duration(7 * 24 * time.Hour)
	for _, name := range []string{"daily", "daily-too"} {
		if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: name, Schedule: policy.Schedule{DailyAt: "03:00"}, Retention: policy.Retention{Default: week}}); err != nil {
			t.Fatal(err)
		}
	}
	storage := "file://" + t.TempDir()
	for _, in := range []vaultv1.InstanceSpec{
		{Name: "fine", Cluster: "valid", Policy: "daily", Backup: vaultv1.BackupConfig{IncludeNamespaces: []string{good}, SnapshotVolumes: true},
			Storage: vaultv1.StorageLocation{URL: storage, PassphraseSecret: agentSecret}},
		{Name: "broken", Cluster: "valid", Policy: "daily-too", Backup: vaultv1.BackupConfig{IncludeNamespaces: []string{bad, "no-such-namespace"},
			SnapshotVolumes: true, BackupHooks: []string{good + "/no-such-hook"}},
			Storage: vaultv1.StorageLocation{URL: storage + "-broken", PassphraseSecret: "no-such-secret"}},
	} {
		if _, err := v.admin.CreateInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
	}

	fine := v.waitValidated(t, "fine")
	if fine.State != vaultv1.JobSucceeded {
		t.Fatalf("fine: %+v", fine)
	}
	wantChecks(t, "fine", fine, map[string]string{
		"agent":            "agent e2e is running in this cluster",
		"secret":           `passphrase secret "repo-passphrase" is there`,
		"storage":          "holds no repository yet and takes writes",
		"namespaces":       "1 namespace(s) in scope",
		"volume-snapshots": "1 of 1 claim(s) will be snapshotted (VolumeSnapshotClass " + localcluster.CSISnapshotClass + ")",
		"permissions":      "the agent may do the",
	})
	broken := v.waitValidated(t, "broken")
	if broken.State != vaultv1.JobFailed || !strings.Contains(broken.Error, `instance "broken" would not back up: 4 check(s) failed`) {
		t.Fatalf("broken: %+v", broken)
	}
	wantChecks(t, "broken", broken, map[string]string{
		"!secret":           `"no-such-secret" is in neither place the agent looks`,
		"!namespaces":       "namespace(s) no-such-namespace do not exist in this cluster",
		"!volume-snapshots": "1 of 1 claim(s) could not be snapshotted: vvalid-host/data: volume vvalid-host-pv is a hostPath volume, not CSI",
		"!hooks":            "no-such-hook",
		"permissions":       "the agent may do the",
	})

	// Once backed up, the repository is there: a validation on demand opens it.
	j, err := v.admin.BackupNow(ctx, "fine", vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, j.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("backup of fine: %+v", j)
	}
	again, err := v.admin.ValidateInstance(ctx, "fine")
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, again.ID, time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("validation after the backup: %+v", j)
	}
	wantChecks(t, "fine again", v.validation(t, "fine"), map[string]string{"storage": "opens with passphrase secret"})
}

// staticClaim makes claim "data" in ns bound to a hostPath volume pv (not CSI: no snapshot).
func staticClaim(ctx context.Context, t *testing.T, ns, pv string) {
	t.Helper()
	c := clientOf(t, cluster).CoreV1()
	size := corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	class := "manual"
	if _, err := c.PersistentVolumes().Create(ctx, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: pv},
		Spec: corev1.PersistentVolumeSpec{Capacity: size, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: class, PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + pv}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.PersistentVolumes().Delete(context.Background(), pv, metav1.DeleteOptions{}) })
	if _, err := c.PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &class, VolumeName: pv, Resources: corev1.VolumeResourceRequirements{Requests: size}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// validation reads the instance's newest validation.
func (v *testVault) validation(t *testing.T, instance string) vaultv1.Validation {
	t.Helper()
	in, err := v.admin.GetInstance(t.Context(), instance)
	if err != nil || in.Validation == nil {
		t.Fatalf("instance %s: validation %+v, %v", instance, in.Validation, err)
	}
	return *in.Validation
}

// waitValidated waits until the instance's newest validation ended and returns it.
func (v *testVault) waitValidated(t *testing.T, instance string) vaultv1.Validation {
	t.Helper()
	var got *vaultv1.Validation
	waitFor(t, time.Minute, instance+" to be validated", func() bool {
		in, err := v.admin.GetInstance(t.Context(), instance)
		if err != nil || in.Validation == nil {
			return false
		}
		got = in.Validation
		return got.State != vaultv1.JobQueued && got.State != vaultv1.JobRunning
	})
	return *got
}

// wantChecks checks that each named check (a "!" before the name: failed) says what is wanted.
func wantChecks(t *testing.T, what string, v vaultv1.Validation, want map[string]string) {
	t.Helper()
	for name, msg := range want {
		failed := strings.HasPrefix(name, "!")
		name = strings.TrimPrefix(name, "!")
		found := false
		for _, c := range v.Checks {
			if c.Name == name {
				found = true
				if c.OK == failed || !strings.Contains(c.Message, msg) {
					t.Errorf("%s: check %s: ok %v %q, want failed %v and %q", what, name, c.OK, c.Message, failed, msg)
				}
			}
		}
		if !found {
			t.Errorf("%s: no check %s in %+v", what, name, v.Checks)
		}
	}
}
