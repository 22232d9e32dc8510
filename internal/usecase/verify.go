package usecase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/files"
)

// Verification levels (docs/design/monitoring.md, "Verification"); the agent protocol and the
// vault's API speak the same words.
const (
	// VerifyStructure checks the manifest's authentication, every file's presence and size, the
	// index and how its sections tile the packs, and the volume copies' snapshots and trees; it
	// reads no pack and no copied data.
	VerifyStructure = "structure"
	// VerifyData reads everything VerifyStructure checks, plus every pack against its checksum,
	// every section and item, and every data blob the volume copies use.
	VerifyData = "data"
)

// VerifyLevels lists the levels, the default first.
var VerifyLevels = []string{VerifyData, VerifyStructure}

// VerifyReport is what the verification of a recovery point checked and found.
type VerifyReport struct {
	Name  string `json:"name"`
	Level string `json:"level"`
	// Files, Sections and Items are the recovery point's own (Items read back: 0 at
	// VerifyStructure).
	Files    int `json:"files"`
	Sections int `json:"sections"`
	Items    int `json:"items"`
	// Copies counts the volume copies checked; Blobs their distinct data blobs, BytesRead what
	// was read of them (VerifyData).
	Copies    int   `json:"copies"`
	Blobs     int   `json:"blobs"`
	BytesRead int64 `json:"bytesRead"`
	// Problems is the damage found, each naming where; empty: intact.
	Problems []string `json:"problems,omitempty"`
}

// VerifyRecoveryPoint reads recovery point name of repo back at level (VerifyStructure or
// VerifyData; "" is VerifyData): its own files (archive.Repository.VerifyStructure or Verify),
// then the file snapshots of its volume copies (files.Store.VerifySnapshots). Damage, a missing
// or incomplete point included, is reported in Problems; an error means the check could not
// run (storage unreachable, a cancelled context). opts configure the file store.
func VerifyRecoveryPoint(ctx context.Context, repo *archive.Repository, name, level string, opts files.Options) (VerifyReport, error) {
	if level == "" {
		level = VerifyData
	}
	rep := VerifyReport{Name: name, Level: level}
	if !slices.Contains(VerifyLevels, level) {
		return rep, fmt.Errorf("verification level %q: use %s", level, strings.Join(VerifyLevels, " or "))
	}
	verify := repo.Verify
	if level == VerifyStructure {
		verify = repo.VerifyStructure
	}
	own, err := verify(ctx, name)
	rep.Files, rep.Sections, rep.Items, rep.Problems = own.Files, own.Sections, own.Items, own.Problems
	if err != nil {
		if !isDamage(err) || ctx.Err() != nil {
			return rep, err
		}
		rep.Problems = append(rep.Problems, err.Error())
		return rep, nil // no authentic manifest: nothing names the copies
	}
	b, err := repo.OpenBackup(ctx, name)
	if err != nil {
		if !isDamage(err) || ctx.Err() != nil {
			return rep, err
		}
		rep.Problems = append(rep.Problems, err.Error())
		return rep, nil
	}
	var copies []string
	for _, v := range b.Manifest().Volumes {
		if v.Copy != nil && !slices.Contains(copies, v.Copy.FileSnapshot) {
			copies = append(copies, v.Copy.FileSnapshot)
		}
	}
	if len(copies) == 0 {
		return rep, nil
	}
	st, err := files.Open(repo, opts)
	if err != nil {
		return rep, fmt.Errorf("open the file store: %w", err)
	}
	fr, err := st.VerifySnapshots(ctx, copies, level == VerifyData)
	rep.Copies, rep.Blobs, rep.BytesRead = len(copies), fr.Blobs, fr.BytesRead
	for _, p := range fr.Problems {
		rep.Problems = append(rep.Problems, "volume copies: "+p)
	}
	if err != nil {
		return rep, fmt.Errorf("verify the volume copies: %w", err)
	}
	return rep, nil
}

// isDamage tells whether opening a recovery point failed on what the repository holds (a point
// missing, incomplete or tampered with) rather than on reaching it.
func isDamage(err error) bool {
	return errors.Is(err, archive.ErrTampered) || errors.Is(err, archive.ErrIncomplete) || errors.Is(err, archive.ErrBackupNotFound)
}
