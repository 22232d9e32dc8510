//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/mover"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// TestVolumeCopyInterrupted stops backups mid-copy: one cancelled (its objects are removed on the
// way out), one whose process is killed (its objects stay until `cairn volumes sweep`, the sweep
// the agent runs at start, removes them). Then a backup succeeds.
func TestVolumeCopyInterrupted(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	storage := "file://" + t.TempDir()
	image := agentImageIn(t, cluster)
	ensureNamespace(ctx, t, client, trustgrant.DefaultNamespace)
	deployWriter(ctx, t, "copy-kill")
	t.Cleanup(func() { deleteNamespace(context.Background(), t, client, "copy-kill") })
	args := func(name string) []string {
		return []string{"backup", "create", name, "--storage", storage, "--include-namespaces", "copy-kill", "--volume-data", "copy", "--mover-image", image}
	}

	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			if waitForMoverPod(cctx, client) == nil {
				cancel()
			}
		}()
		if _, err := cairnContext(cctx, t, args("kill-1")...); err == nil {
			t.Log("the backup ended before it was cancelled")
		}
		assertNoMoverLeftovers(ctx, t, client)
	})

	t.Run("killed", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, cairnBinary(t), append(args("kill-2"), "--kubeconfig", cluster.State.Kubeconfig)...)
		cmd.Env = append(os.Environ(), "CAIRN_PASSPHRASE="+passphrase)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if err := waitForMoverPod(ctx, client); err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("no mover pod: %v", err)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if left := moverLeftovers(ctx, t, client); len(left) == 0 {
			t.Fatal("a killed backup left no mover objects: the test did not stop it mid-copy")
		}
		out, err := cairn(t, nil, "volumes", "sweep", "--older-than", "0s")
		if err != nil || !strings.Contains(out, "removed 1 pods") {
			t.Fatalf("sweep: %v\n%s", err, out)
		}
		assertNoMoverLeftovers(ctx, t, client)
		// The snapshot the killed backup took was never recorded: deleting the incomplete backup
		// deletes it too.
		if _, err := cairn(t, nil, "backup", "delete", "kill-2", "--storage", storage); err != nil {
			t.Fatal(err)
		}
		contents, err := dynamicOf(t).Resource(snapshot.ContentResource).List(ctx, metav1.ListOptions{LabelSelector: snapshot.LabelRecoveryPoint + "=kill-2"})
		if err != nil || len(contents.Items) != 0 {
			t.Fatalf("the killed backup's snapshot is left: %d (%v)", len(contents.Items), err)
		}
	})

	if _, err := cairn(t, nil, args("kill-3")...); err != nil {
		t.Fatal(err)
	}
	if rec := volumeRecord(t, describeBackup(t, storage, "kill-3"), "copy-kill", "data"); rec.Outcome != archive.VolumeCopied {
		t.Fatalf("the backup after the interrupted ones: %+v", rec)
	}
	assertNoMoverLeftovers(ctx, t, client)
}

// waitForMoverPod waits until a data mover pod exists.
func waitForMoverPod(ctx context.Context, client kubernetes.Interface) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := client.CoreV1().Pods(trustgrant.DefaultNamespace).List(ctx, metav1.ListOptions{LabelSelector: mover.LabelMover})
		return err == nil && len(l.Items) > 0, nil
	})
}
