package backup

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive"
)

func TestBackupFilesWithoutAMoverNamesTheImageFlag(t *testing.T) {
	b := &run{log: slog.New(slog.DiscardHandler)}
	out := b.backupFiles(t.Context(), "c", []archive.VolumeRecord{{Namespace: "app", Claim: "data", Outcome: archive.VolumeSkipped, Reason: "not CSI"}})
	if out[0].Outcome != archive.VolumeSkipped || !strings.Contains(out[0].Reason, "not CSI; opted in to the file-system backup") ||
		!strings.Contains(out[0].Reason, "--mover-image") || len(b.warnings) != 1 || len(b.errs) != 0 {
		t.Fatalf("record %+v, warnings %v, errors %v", out[0], b.warnings, b.errs)
	}
}

func TestBackupFilesNotesOutcomes(t *testing.T) {
	b := &run{log: slog.New(slog.DiscardHandler), opts: Options{FSBackup: func(_ context.Context, cluster string, records []archive.VolumeRecord) []archive.VolumeRecord {
		out := make([]archive.VolumeRecord, len(records))
		for i, r := range records {
			r.Copy = &archive.VolumeCopy{Method: archive.CopyMethodFileSystem, Source: cluster + "/" + r.Namespace + "/" + r.Claim}
			switch r.Claim {
			case "ok":
				r.Outcome = archive.VolumeCopied
			case "partial":
				r.Outcome, r.CopyError = archive.VolumeCopied, "2 entries of the volume could not be read"
			case "gone":
				r.Outcome, r.Reason, r.Copy = archive.VolumeSkipped, r.Reason+"; not backed up through its files: no running pod mounts it", nil
			case "broken":
				r.Outcome, r.Reason, r.Copy = archive.VolumeFailed, "file-system backup failed: pod failed", nil
			}
			out[i] = r
		}
		return out
	}}}
	var in []archive.VolumeRecord
	for _, c := range []string{"ok", "partial", "gone", "broken"} {
		in = append(in, archive.VolumeRecord{Namespace: "app", Claim: c, Outcome: archive.VolumeSkipped, Reason: "no snapshot class"})
	}
	out := b.backupFiles(t.Context(), "cluster", in)
	if len(out) != 4 || out[0].Copy.Source != "cluster/app/ok" {
		t.Fatalf("records %+v", out)
	}
	if len(b.warnings) != 1 || !strings.Contains(b.warnings[0], "app/gone not protected") || len(b.errs) != 2 ||
		!strings.Contains(b.errs[0], "app/partial: file-system backup incomplete") || !strings.Contains(b.errs[1], "app/broken: file-system backup failed") {
		t.Fatalf("warnings %q, errors %q", b.warnings, b.errs)
	}
	// The copy step after the post-hooks leaves these records to backupFiles.
	b.warnings, b.errs = nil, nil
	b.opts.CopyVolumes = func(_ context.Context, _ string, records []archive.VolumeRecord) []archive.VolumeRecord {
		return records
	}
	b.copyVolumes(t.Context(), "cluster", out)
	if len(b.errs) != 0 {
		t.Fatalf("file-system records noted again: %q", b.errs)
	}
}
