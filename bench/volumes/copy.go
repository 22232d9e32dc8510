package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// copyFigures measures the copy tier beside a raw read of the same volumes: one pod that reads
// every claim's data in parallel (what any copy must at least do), a copy of all claims into the
// repository (copy mode: snapshot, mover pod, cairn files backup), the restore of the claims from
// the copies alone, and the copy after 5% of each volume changed (incremental).
func (b *bench) copyFigures(ctx context.Context, c *localcluster.Cluster, mib int, out io.Writer) error {
	image, err := b.moverImage(ctx, c)
	if err != nil {
		return err
	}
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: trustgrant.DefaultNamespace}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	total := float64(b.claims*mib) * (1 << 20)
	rawRead, err := b.timed(func() error {
		return b.runPod(ctx, "raw-read", "for d in /data-*; do cat $d/blob > /dev/null & done; wait")
	})
	if err != nil {
		return fmt.Errorf("raw read: %w", err)
	}
	mover := []string{"--mover-image", image, "--kubeconfig", b.kcfg}
	copyAll, err := b.timed(func() error { return b.copyBackup("copy-1", mover) })
	if err != nil {
		return fmt.Errorf("cairn copy: %w", err)
	}
	if _, err := b.copied("copy-1"); err != nil {
		return err
	}
	restoreAll, err := b.timed(func() error {
		_, err := b.run(b.cairn, append([]string{"restore", "create", "copy-1-r", "--from", "copy-1", "--storage", "file://" + b.repo,
			"--namespace-mapping", "app=app-from-copy", "--volume-source", "copy"}, mover...)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("cairn restore from the copy: %w", err)
	}
	if err := b.restoredFromCopy("copy-1-r"); err != nil {
		return err
	}
	changed := max(1, mib*5/100)
	if err := b.runPod(ctx, "change", fmt.Sprintf("for d in /data-*; do dd if=/dev/urandom of=$d/blob bs=1048576 count=%d seek=%d conv=notrunc 2>/dev/null & done; wait; sync",
		changed, mib/2)); err != nil {
		return fmt.Errorf("change 5%%: %w", err)
	}
	copyAgain, err := b.timed(func() error { return b.copyBackup("copy-2", mover) })
	if err != nil {
		return fmt.Errorf("cairn incremental copy: %w", err)
	}
	added, err := b.copied("copy-2")
	if err != nil {
		return err
	}
	rate := func(d time.Duration) string { return fmt.Sprintf("%.0f MiB/s", total/(1<<20)/d.Seconds()) }
	fmt.Fprintf(out, "\nCopy tier: %d claims x %d MiB (%d MiB), file:// repository, 4 mover pods at once\n\n", b.claims, mib, b.claims*mib)
	fmt.Fprintln(out, "| step | time | throughput | vs raw read |")
	fmt.Fprintln(out, "|---|---|---|---|")
	fmt.Fprintf(out, "| raw read (one pod, all claims in parallel) | %s | %s | 1.00 |\n", sec(rawRead), rate(rawRead))
	fmt.Fprintf(out, "| cairn copy (snapshot, mover pods, file store; whole backup) | %s | %s | %.2f |\n", sec(copyAll), rate(copyAll), copyAll.Seconds()/rawRead.Seconds())
	fmt.Fprintf(out, "| cairn restore from the copy (fill, hand-over, bind; whole restore) | %s | %s | %.2f |\n", sec(restoreAll), rate(restoreAll), restoreAll.Seconds()/rawRead.Seconds())
	fmt.Fprintf(out, "| cairn copy after %d%% changed (incremental; added %.1f MiB) | %s | %s | %.2f |\n", 5, float64(added)/(1<<20),
		sec(copyAgain), rate(copyAgain), copyAgain.Seconds()/rawRead.Seconds())
	return nil
}

// copyBackup copies the claims of namespace app (the measured ones: not the hand-made restores).
func (b *bench) copyBackup(name string, mover []string) error {
	_, err := b.run(b.cairn, append([]string{"backup", "create", name, "--storage", "file://" + b.repo, "--include-namespaces", "app",
		"--include-resources", "persistentvolumeclaims", "--selector", "!hand", "--volume-data", "copy"}, mover...)...)
	return err
}

// moverImage builds the agent image from the measured binary and imports it into the node.
func (b *bench) moverImage(ctx context.Context, c *localcluster.Cluster) (string, error) {
	tar := filepath.Join(b.repo+"-image", "agent.tar")
	defer os.RemoveAll(filepath.Dir(tar))
	if err := localcluster.BuildAgentImage(ctx, b.cairn, localcluster.AgentImage, tar); err != nil {
		return "", err
	}
	return localcluster.AgentImage, c.ImportImage(ctx, tar)
}

// copied checks that the backup copied every claim and returns the bytes the copies added.
func (b *bench) copied(name string) (int64, error) {
	out, err := b.run(b.cairn, "backup", "describe", name, "--storage", "file://"+b.repo, "-o", "json")
	if err != nil {
		return 0, err
	}
	var rp archive.RecoveryPoint
	if err := json.Unmarshal(out, &rp); err != nil {
		return 0, fmt.Errorf("decode backup: %w", err)
	}
	var added int64
	var failed []string
	for _, v := range rp.Volumes {
		if v.Copy == nil {
			failed = append(failed, v.Claim+": "+v.CopyError)
			continue
		}
		added += v.Copy.AddedBytes
	}
	if len(failed) > 0 || len(rp.Volumes) != b.claims {
		return 0, fmt.Errorf("backup %s copied %d of %d claims: %s", name, len(rp.Volumes)-len(failed), b.claims, strings.Join(failed, "; "))
	}
	return added, nil
}

// restoredFromCopy checks that the restore filled every claim from its copy.
func (b *bench) restoredFromCopy(name string) error {
	out, err := b.run(b.cairn, "restore", "describe", name, "--storage", "file://"+b.repo, "-o", "json")
	if err != nil {
		return err
	}
	var res restore.Result
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("decode restore: %w", err)
	}
	n := 0
	for _, v := range res.Volumes {
		if v.Outcome == restore.VolumeRestored && v.Source == restore.SourceCopy {
			n++
		}
	}
	if n != b.claims {
		return fmt.Errorf("restore %s filled %d of %d claims from their copies", name, n, b.claims)
	}
	return nil
}
