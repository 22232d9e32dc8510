package jobs

import (
	"context"
	"fmt"
	"strconv"

	"github.com/cairnbackup/cairn/internal/vault/events"
)

// endEvent is the event job r's end makes, if any: a failure (unless retried: the retry's end
// tells) or a partial failure; a verification's failure is a VerificationFailed. Cancelled and
// succeeded jobs make none.
func endEvent(vault string, r Record, end End, retried bool) (events.Event, bool) {
	var t events.Type
	switch {
	case end.State == Failed && retried:
		return events.Event{}, false
	case (end.State == Failed || end.State == PartiallyFailed) && r.Kind == KindVerify:
		t = events.VerificationFailed
	case (end.State == Failed || end.State == PartiallyFailed) && r.Kind == KindTestRestore:
		t = events.TestRestoreFailed
	case end.State == Failed:
		t = events.JobFailed
	case end.State == PartiallyFailed:
		t = events.JobPartiallyFailed
	default:
		return events.Event{}, false
	}
	what := fmt.Sprintf("%s job %d", r.Kind, r.ID)
	if r.Instance != "" {
		what += fmt.Sprintf(" of instance %q", r.Instance)
	}
	summary := fmt.Sprintf("%s %s", what, end.State)
	switch r.Kind {
	case KindVerify:
		summary = fmt.Sprintf("verification of recovery point %q (job %d) %s", r.RecoveryPoint, r.ID, end.State)
	case KindTestRestore:
		summary = fmt.Sprintf("test restore of recovery point %q into cluster %q (job %d) %s", r.RecoveryPoint, r.Cluster, r.ID, end.State)
	}
	if end.Error != "" {
		summary += ": " + end.Error
	}
	details := []events.Detail{{Name: "kind", Value: string(r.Kind)}, {Name: "state", Value: string(end.State)},
		{Name: "attempt", Value: strconv.Itoa(r.Attempt)}, {Name: "trigger", Value: r.Trigger}}
	return events.Event{Vault: vault, Type: t, Key: "job/" + strconv.FormatInt(r.ID, 10), At: end.At, Instance: r.Instance,
		Cluster: r.Cluster, Job: r.ID, RecoveryPoint: r.RecoveryPoint, Summary: events.Summarise(summary), Details: details}, true
}

// recordEndEvent records the event of job r's end in tx, if it makes one.
func recordEndEvent(ctx context.Context, tx Tx, vault string, r Record, end End, retried bool) error {
	if e, ok := endEvent(vault, r, end, retried); ok {
		if _, err := tx.RecordEvent(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
