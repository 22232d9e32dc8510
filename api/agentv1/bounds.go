package agentv1

import (
	"errors"
	"fmt"
)

// Bounds of the values an agent reports. The vault refuses a message past them (a broken or
// hostile agent must not store a negative size, or one that overflows every sum of a usage
// report): no cluster holds an exbibyte or a trillion objects.
const (
	MaxReportedBytes        = int64(1) << 60 // 1 EiB
	MaxReportedCount        = int64(1) << 40 // about 10^12
	MaxVersionLength        = 128
	MaxNamespaces           = 100_000
	MaxRecoveryPointVolumes = 100_000
)

// Validate checks a heartbeat's values against the bounds.
func (h Heartbeat) Validate() error {
	var errs []error
	if len(h.AgentVersion) > MaxVersionLength {
		errs = append(errs, fmt.Errorf("agentVersion: %d characters, at most %d", len(h.AgentVersion), MaxVersionLength))
	}
	if len(h.KubernetesVersion) > MaxVersionLength {
		errs = append(errs, fmt.Errorf("kubernetesVersion: %d characters, at most %d", len(h.KubernetesVersion), MaxVersionLength))
	}
	if len(h.Namespaces) > MaxNamespaces {
		errs = append(errs, fmt.Errorf("namespaces: %d, at most %d", len(h.Namespaces), MaxNamespaces))
	}
	return errors.Join(errs...)
}

// Validate checks a progress report's counters against the bounds.
func (p ProgressReport) Validate() error {
	return errors.Join(count("progress.items", p.Progress.Items), size("progress.bytes", p.Progress.Bytes))
}

// Validate checks the counters of a completion's result against the bounds.
func (c Completion) Validate() error {
	if c.Result == nil {
		return nil
	}
	var errs []error
	if rp := c.Result.RecoveryPoint; rp != nil {
		errs = append(errs, count("result.recoveryPoint.items", rp.Items),
			size("result.recoveryPoint.rawBytes", rp.RawBytes), size("result.recoveryPoint.storedBytes", rp.StoredBytes),
			size("result.recoveryPoint.snapshotBytes", rp.SnapshotBytes), size("result.recoveryPoint.copyBytes", rp.CopyBytes),
			size("result.recoveryPoint.copyAddedBytes", rp.CopyAddedBytes),
			volumes("result.recoveryPoint.volumes", rp.Volumes), volumes("result.recoveryPoint.volumesFailed", rp.VolumesFailed),
			volumes("result.recoveryPoint.volumesCopied", rp.VolumesCopied), volumes("result.recoveryPoint.volumeTiers", len(rp.VolumeTiers)),
			namespaces("result.recoveryPoint.namespaces", len(rp.Namespaces)))
		for i, v := range rp.VolumeTiers {
			errs = append(errs, size(fmt.Sprintf("result.recoveryPoint.volumeTiers[%d].bytes", i), v.Bytes))
		}
	}
	if r := c.Result.Restore; r != nil {
		for _, f := range []struct {
			name string
			n    int
		}{{"created", r.Created}, {"patched", r.Patched}, {"recreated", r.Recreated}, {"unchanged", r.Unchanged},
			{"skipped", r.Skipped}, {"failed", r.Failed}, {"volumes", r.Volumes}} {
			errs = append(errs, count("result.restore."+f.name, int64(f.n)))
		}
	}
	if v := c.Result.Verify; v != nil {
		errs = append(errs, size("result.verify.bytesRead", v.BytesRead), count("result.verify.problems", int64(v.Problems)))
	}
	return errors.Join(errs...)
}

func size(field string, n int64) error     { return bounded(field, n, MaxReportedBytes, "bytes") }
func count(field string, n int64) error    { return bounded(field, n, MaxReportedCount, "") }
func volumes(field string, n int) error    { return bounded(field, int64(n), MaxRecoveryPointVolumes, "") }
func namespaces(field string, n int) error { return bounded(field, int64(n), MaxNamespaces, "") }

func bounded(field string, n, limit int64, unit string) error {
	if n < 0 || n > limit {
		if unit != "" {
			unit = " " + unit
		}
		return fmt.Errorf("%s: %d is not a value an agent can report (0 to %d%s)", field, n, limit, unit)
	}
	return nil
}
