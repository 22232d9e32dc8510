package usecase

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/restore"
)

// conflictMessage says how many objects of a dry run exist already and what the conflict policy
// does with them. It is not ok only when the policy is skip and every object exists: nothing would
// be restored.
// The counts are complete while a large dry run's items are not (restore.Result): every skip,
// patch, recreate and failure is among them, only plain creates may be left out.
func conflictMessage(dry *restore.Result, policy string) (string, bool) {
	c := dry.Counts
	existing, differ, failing := c.Unchanged+c.Patched+c.Recreated, c.Patched+c.Recreated, c.Failed
	considered := c.Created + c.Unchanged + c.Patched + c.Recreated + c.Failed
	var firstFailure string
	for _, it := range dry.Items {
		switch {
		case it.Action == restore.ActionSkip && strings.HasPrefix(it.Reason, "already exists"):
			existing++
			considered++
		case it.Action == restore.ActionFail && firstFailure == "":
			firstFailure = fmt.Sprintf("%s %s: %s", it.Resource, qualified(it.Namespace, it.Name), it.Reason)
		}
	}
	var b strings.Builder
	switch {
	case considered == 0:
		b.WriteString("the recovery point holds no object in the restore's scope")
	case existing == 0:
		fmt.Fprintf(&b, "none of the %d objects to restore exists in the cluster", considered)
	default:
		fmt.Fprintf(&b, "%d of %d objects to restore already exist in the cluster; ", existing, considered)
		switch policy {
		case restore.ConflictPatch:
			fmt.Fprintf(&b, "conflict policy patch brings %d of them back to the backed-up state and leaves %d unchanged", differ, existing-differ)
		case restore.ConflictRecreate:
			fmt.Fprintf(&b, "conflict policy recreate deletes and creates %d of them (namespaces and CRDs are patched instead)", existing)
		default:
			b.WriteString("conflict policy skip leaves them as they are")
		}
	}
	if failing > 0 {
		fmt.Fprintf(&b, "; %d would fail (first: %s)", failing, firstFailure)
	}
	if (policy == restore.ConflictSkip || policy == "") && considered > 0 && existing == considered {
		b.WriteString(": nothing would be restored (use conflict policy patch or recreate, or a namespace mapping)")
		return b.String(), false
	}
	return b.String(), true
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// readOnly is a storage whose writes succeed without storing anything: a dry run through it
// leaves nothing behind.
type readOnly struct{ blob.Storage }

var _ blob.Storage = readOnly{}

func (readOnly) Put(_ context.Context, _ string, r io.Reader, _ blob.PutOptions) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func (readOnly) Delete(context.Context, string) error { return nil }
