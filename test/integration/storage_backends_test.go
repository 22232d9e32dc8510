//go:build integration

package integration

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/testenv"
)

// TestBackupRestoreThroughRealStorageServers runs the CLI's backup, verify and restore against
// Azurite (azblob://) and versitygw (s3://), credentials from the environment as a user gives them.
func TestBackupRestoreThroughRealStorageServers(t *testing.T) {
	ctx := t.Context()
	client, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "remote-src"}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "payload", Namespace: "remote-src"}, Data: map[string]string{"k": "v"}}
	if _, err := client.CoreV1().ConfigMaps("remote-src").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range remoteStorages(t, "cairn-it", "backups") {
		t.Run(tc.name, func(t *testing.T) {
			run := func(args ...string) string {
				t.Helper()
				out, errOut, err := cairnWithEnv(t, source, tc.env, args...)
				if err != nil {
					t.Fatalf("cairn %s: %v\n%s\n%s", strings.Join(args, " "), err, out, errOut)
				}
				return out
			}
			run("backup", "create", "remote", "--storage", tc.url, "--include-namespaces", "remote-src")
			if out := run("backup", "verify", "remote", "--storage", tc.url); !strings.Contains(out, "remote: intact") {
				t.Fatalf("verify: %s", out)
			}
			target := "remote-" + tc.name
			run("restore", "create", "r-"+tc.name, "--from", "remote", "--storage", tc.url, "--namespace-mapping", "remote-src="+target)
			got, err := client.CoreV1().ConfigMaps(target).Get(ctx, "payload", metav1.GetOptions{})
			if err != nil || got.Data["k"] != "v" {
				t.Fatalf("restored config map: %v %v", got, err)
			}
			if _, _, err := cairnWithEnv(t, source, nil, "backup", "list", "--storage", tc.url); err == nil {
				t.Fatal("listing without storage credentials succeeded")
			}
		})
	}
}

// TestLockedBackupInS3ObjectLock backs up with --lock-for into a bucket with S3 object lock: the
// server itself then refuses to delete the backup, whatever cairn is told.
func TestLockedBackupInS3ObjectLock(t *testing.T) {
	s3srv := testenv.StartVersityGW(t)
	s3srv.CreateLockedBucket(t, "cairn-locked")
	storage := fmt.Sprintf("s3://cairn-locked?endpoint=%s&pathStyle=true", url.QueryEscape(s3srv.Endpoint))
	env := map[string]string{"AWS_ACCESS_KEY_ID": s3srv.AccessKey, "AWS_SECRET_ACCESS_KEY": s3srv.SecretKey}
	if out, errOut, err := cairnWithEnv(t, source, env, "backup", "create", "locked", "--storage", storage,
		"--include-namespaces", "default", "--lock-for", "1d"); err != nil {
		t.Fatalf("locked backup: %v\n%s\n%s", err, out, errOut)
	}
	_, _, err := cairnWithEnv(t, source, env, "backup", "delete", "locked", "--storage", storage)
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("delete of a locked backup: %v", err)
	}
	if out, _, err := cairnWithEnv(t, source, env, "backup", "verify", "locked", "--storage", storage); err != nil || !strings.Contains(out, "intact") {
		t.Fatalf("verify after the refused delete: %v\n%s", err, out)
	}
}
