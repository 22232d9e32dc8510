package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// volumeFlags configure volume snapshots on backup create.
type volumeFlags struct {
	enabled    bool
	class      string
	timeout    time.Duration
	policyFile string
}

func (f *volumeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.enabled, "snapshot-volumes", true, "snapshot the persistent volumes of the claims in scope (CSI volume snapshots)")
	fl.StringVar(&f.class, "snapshot-class", "", "VolumeSnapshotClass to use (default: each CSI driver's default class)")
	fl.DurationVar(&f.timeout, "snapshot-timeout", 10*time.Minute, "how long to wait for each snapshot to be ready")
	fl.StringVar(&f.policyFile, "volume-policy", "", "YAML rules that skip volumes by storage class, driver, size or claim labels (see docs/design/volumes.md)")
}

// volumes checks the flags and reads the volume policy.
func (f *volumeFlags) volumes() (usecase.Volumes, error) {
	v := usecase.Volumes{Snapshot: f.enabled, Class: f.class, Timeout: f.timeout}
	if !f.enabled {
		return v, nil
	}
	if f.policyFile != "" {
		data, err := os.ReadFile(f.policyFile)
		if err != nil {
			return v, fmt.Errorf("read --volume-policy: %w", err)
		}
		if v.Policy, err = snapshot.ParsePolicy(data); err != nil {
			return v, fmt.Errorf("--volume-policy %s: %w", f.policyFile, err)
		}
	}
	if f.timeout <= 0 {
		return v, fmt.Errorf("--snapshot-timeout %s: use a positive duration like 10m", f.timeout)
	}
	return v, nil
}

func printVolumeRecords(out io.Writer, vols []archive.VolumeRecord) {
	if len(vols) == 0 {
		return
	}
	t := newTable(out)
	fmt.Fprintln(t, "\nCLAIM\tVOLUME\tDRIVER\tOUTCOME\tSNAPSHOT\tSIZE\tREADY IN\tREASON")
	for _, v := range vols {
		snap, size, ready := "", "", ""
		if v.Snapshot != nil {
			snap, size = v.Snapshot.Handle, humanize.Bytes(v.Snapshot.RestoreSizeBytes)
			ready = (time.Duration(v.Snapshot.ReadySeconds * float64(time.Second))).Round(time.Millisecond).String()
		}
		fmt.Fprintf(t, "%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Namespace, v.Claim, v.Volume, v.Driver, v.Outcome, snap, size, ready, v.Reason)
	}
	_ = t.Flush()
}

func printVolumeResults(out io.Writer, vols []restore.VolumeResult) {
	if len(vols) == 0 {
		return
	}
	t := newTable(out)
	fmt.Fprintln(t, "\nCLAIM\tOUTCOME\tSNAPSHOT\tBYTES\tSNAPSHOT READY\tBOUND IN\tREASON")
	for _, v := range vols {
		claim := v.Namespace + "/" + v.Claim
		if v.TargetNamespace != "" {
			claim = v.Namespace + "→" + v.TargetNamespace + "/" + v.Claim
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", claim, v.Outcome, v.Snapshot, humanize.Bytes(v.Bytes),
			seconds(v.ReadySeconds), seconds(v.BoundSeconds), v.Reason)
	}
	_ = t.Flush()
}

func seconds(s float64) string {
	if s == 0 {
		return ""
	}
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
