package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/scope"
)

// TestRestoreJob is a test restore of recovery point rp of the instance, whose namespaces are
// namespaces, made on cluster source, into scratch namespaces of cluster target, as the policy's
// test restores say (docs/design/monitoring.md, "Automatic test restores"); at names the scratch
// namespaces apart from those of any other test restore.
func TestRestoreJob(in Instance, rp string, namespaces []string, source, target string, t policy.TestRestore, at time.Time, trigger, by string) (NewJob, error) {
	if len(namespaces) == 0 {
		return NewJob{}, fmt.Errorf("recovery point %q holds no namespace: there is nothing to test-restore: %w", rp, ErrInvalid)
	}
	name, err := RestoreName(rp)
	if err != nil {
		return NewJob{}, err
	}
	mapping := make(map[string]string, len(namespaces))
	for _, ns := range namespaces {
		mapping[ns] = ScratchNamespace(in.Name, ns, at)
	}
	checks := make([]agentv1.TestCheck, len(t.Checks))
	for i, c := range t.Checks {
		checks[i] = agentv1.TestCheck{Namespace: c.Namespace, Selector: c.Selector, Container: c.Container, Command: c.Command,
			TimeoutSeconds: int(c.TimeoutOrDefault() / time.Second)}
	}
	opts := agentv1.RestoreOptions{IncludeNamespaces: namespaces, NamespaceMapping: mapping, ClusterResources: scope.ClusterNone}
	return NewJob{Kind: KindTestRestore, Instance: in.Name, Cluster: target, RecoveryPoint: rp, Trigger: trigger, CreatedBy: by,
		Spec: agentv1.JobSpec{TestRestore: &agentv1.TestRestoreJob{
			Restore:             agentv1.RestoreJob{Name: name, RecoveryPoint: rp, SourceCluster: source, Storage: in.Storage, Options: opts},
			ReadyTimeoutSeconds: int(t.ReadyTimeoutOrDefault() / time.Second), Checks: checks}}}, nil
}

// ScratchNamespace is the scratch namespace a test restore of the instance at at restores source
// namespace ns into: "ct-<hash>-<ns>", cut to a namespace's 63 characters.
func ScratchNamespace(instance, ns string, at time.Time) string {
	sum := sha256.Sum256([]byte(instance + "/" + at.UTC().Format(time.RFC3339Nano)))
	name := "ct-" + hex.EncodeToString(sum[:4]) + "-" + ns
	if len(name) > 63 {
		name = name[:63]
		for name[len(name)-1] == '-' {
			name = name[:len(name)-1]
		}
	}
	return name
}

// QueueTestRestore queues a test restore's job in the transaction that records it as its
// instance's last, when scheduled records it, and returns the job.
func (l *Lifecycle) QueueTestRestore(ctx context.Context, vault string, nj NewJob, scheduled bool) (Job, error) {
	var id int64
	now := l.now().UTC()
	err := l.st.InTx(ctx, func(tx Tx) error {
		var err error
		if id, err = insert(ctx, tx, vault, nj, now); err != nil {
			return err
		}
		if scheduled {
			return tx.RecordTestRestore(ctx, vault, nj.Instance, now)
		}
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	return l.Get(ctx, vault, id)
}
