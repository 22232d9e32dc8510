package cli

import (
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/mover"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// volumeFlags configure volume snapshots on backup create.
type volumeFlags struct {
	enabled    bool
	class      string
	timeout    time.Duration
	policyFile string
	data       string
	mover      moverFlags
}

// moverFlags configure the data mover's pods.
type moverFlags struct {
	image, namespace string
	kubeletRoot      string
	hostNetwork      bool
	parallelism      int
	timeout          time.Duration
}

func (f *moverFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.image, "mover-image", "", "image of the data mover pods: cairn's image, e.g. the agent's (needed to copy volume data and for the file-system backup)")
	fl.StringVar(&f.namespace, "mover-namespace", trustgrant.DefaultNamespace, "namespace of the data mover's pods, claims and secrets")
	fl.BoolVar(&f.hostNetwork, "mover-host-network", false, "run the data mover pods in the node's network (storage reachable only from the node)")
	fl.IntVar(&f.parallelism, "copy-parallelism", 4, "how many volumes are copied at once")
	fl.DurationVar(&f.timeout, "copy-timeout", time.Hour, "how long one volume's copy may take")
}

func (f *moverFlags) options() (usecase.MoverOptions, error) {
	if f.parallelism < 1 {
		return usecase.MoverOptions{}, fmt.Errorf("--copy-parallelism %d: use 1 or more", f.parallelism)
	}
	if f.timeout <= 0 {
		return usecase.MoverOptions{}, fmt.Errorf("--copy-timeout %s: use a positive duration like 1h", f.timeout)
	}
	if f.kubeletRoot != "" && !path.IsAbs(f.kubeletRoot) {
		return usecase.MoverOptions{}, fmt.Errorf("--kubelet-root %q: use an absolute path like %s", f.kubeletRoot, mover.DefaultKubeletRoot)
	}
	return usecase.MoverOptions{Image: f.image, Namespace: f.namespace, HostNetwork: f.hostNetwork, Parallelism: f.parallelism, Timeout: f.timeout,
		KubeletRoot: f.kubeletRoot}, nil
}

func (f *volumeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.enabled, "snapshot-volumes", true, "snapshot the persistent volumes of the claims in scope (CSI volume snapshots)")
	fl.StringVar(&f.class, "snapshot-class", "", "VolumeSnapshotClass to use (default: each CSI driver's default class)")
	fl.DurationVar(&f.timeout, "snapshot-timeout", 10*time.Minute, "how long to wait for each snapshot to be ready")
	fl.StringVar(&f.policyFile, "volume-policy", "", "YAML rules that skip, snapshot or back up through their files (fs-backup) volumes by storage class, driver, size or claim labels (see docs/design/volumes.md)")
	fl.StringVar(&f.data, "volume-data", archive.VolumeDataSnapshot, "what the backup keeps of each volume: snapshot, copy (its files in the backup storage) or snapshot+copy")
	f.mover.register(cmd)
	fl.StringVar(&f.mover.kubeletRoot, "kubelet-root", mover.DefaultKubeletRoot, "the kubelet's root directory on the nodes, where the file-system backup reads volumes mounted into pods")
}

// volumes checks the flags and reads the volume policy.
func (f *volumeFlags) volumes() (usecase.Volumes, error) {
	v := usecase.Volumes{Snapshot: f.enabled, Class: f.class, Timeout: f.timeout}
	mode, err := archive.ParseVolumeData(f.data)
	if err != nil {
		return v, fmt.Errorf("--volume-data: %w", err)
	}
	if !f.enabled {
		if archive.CopiesVolumeData(mode) {
			return v, fmt.Errorf("--volume-data %s copies volumes from their snapshots: it cannot go with --snapshot-volumes=false", mode)
		}
		return v, nil
	}
	v.Data = mode
	// With an image, the mover also backs up the volumes opted in to the file-system backup.
	if archive.CopiesVolumeData(mode) || f.mover.image != "" {
		if v.Mover, err = f.mover.options(); err != nil {
			return v, err
		}
		if v.Mover.Image == "" {
			return v, fmt.Errorf("--volume-data %s runs data mover pods: name their image with --mover-image (cairn's image, e.g. the agent's)", mode)
		}
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
	fmt.Fprintln(t, "\nCLAIM\tVOLUME\tDRIVER\tOUTCOME\tSNAPSHOT\tSIZE\tREADY IN\tCOPY\tREASON")
	for _, v := range vols {
		snap, size, ready := "", "", ""
		if v.Snapshot != nil {
			snap, size = v.Snapshot.Handle, humanize.Bytes(v.Snapshot.RestoreSizeBytes)
			ready = (time.Duration(v.Snapshot.ReadySeconds * float64(time.Second))).Round(time.Millisecond).String()
		}
		fmt.Fprintf(t, "%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Namespace, v.Claim, v.Volume, v.Driver, v.Outcome, snap, size, ready,
			copyColumn(v), strings.TrimSpace(v.Reason+" "+v.CopyError))
	}
	_ = t.Flush()
}

// copyColumn sums up a volume's copy: its file snapshot and size, or that it failed.
func copyColumn(v archive.VolumeRecord) string {
	switch {
	case v.Copy != nil && v.Copy.Method == archive.CopyMethodFileSystem:
		return fmt.Sprintf("%.8s (%s, %s added, from its files)", v.Copy.FileSnapshot, humanize.Bytes(v.Copy.Bytes), humanize.Bytes(v.Copy.AddedBytes))
	case v.Copy != nil:
		return fmt.Sprintf("%.8s (%s, %s added)", v.Copy.FileSnapshot, humanize.Bytes(v.Copy.Bytes), humanize.Bytes(v.Copy.AddedBytes))
	case v.CopyError != "":
		return "failed"
	}
	return ""
}

func printVolumeResults(out io.Writer, vols []restore.VolumeResult) {
	if len(vols) == 0 {
		return
	}
	t := newTable(out)
	fmt.Fprintln(t, "\nCLAIM\tOUTCOME\tFROM\tBYTES\tDATA READY\tBOUND IN\tREASON")
	for _, v := range vols {
		claim := v.Namespace + "/" + v.Claim
		if v.TargetNamespace != "" {
			claim = v.Namespace + "→" + v.TargetNamespace + "/" + v.Claim
		}
		from := v.Snapshot
		if v.FileSnapshot != "" {
			from = "copy " + v.FileSnapshot[:min(8, len(v.FileSnapshot))]
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", claim, v.Outcome, from, humanize.Bytes(v.Bytes),
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
