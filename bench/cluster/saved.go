package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/cairnbackup/cairn/bench/internal/harness"
)

// A run split in two: -save keeps what the source cluster's half measured (the references and
// the backups) and the S3 server's data in a directory; a later -from run restores those backups
// and prints the whole table. Velero's restore of 300,000 objects takes most of three hours, so
// the halves let each fit a session of a machine that stops its processes after three.

// savedRunFile is the file in a -save directory that holds the saved figures; s3 beside it holds
// the S3 server's data.
const savedRunFile = "run.json"

// savedRun is what -save keeps of a run for -from: the figures of its source half, what it was run
// with, and how its S3 server is reached again (its address is not used).
type savedRun struct {
	Saved       time.Time
	Namespaces  int
	Parallelism int
	RefBin      string
	Velero      bool
	sourceFigures
	S3 harness.S3
}

// checkSaveDir refuses a -save directory that already holds a run, so that no saved run is lost.
func checkSaveDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("-save %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("-save %s: the directory is not empty; give a new one (or remove the run saved there)", dir)
	}
	return nil
}

// saveRun writes the source half's figures into dir, beside the S3 data already there.
func saveRun(dir string, c config, f figures, s3 harness.S3, now time.Time) error {
	r := savedRun{
		Saved: now, Namespaces: c.namespaces, Parallelism: c.parallelism, RefBin: c.refBin, Velero: f.velero,
		sourceFigures: f.sourceFigures, S3: s3,
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, savedRunFile), data, 0o600)
}

// loadRun reads a run -save kept in dir.
func loadRun(dir string) (savedRun, error) {
	var r savedRun
	data, err := os.ReadFile(filepath.Join(dir, savedRunFile))
	if err != nil {
		return r, fmt.Errorf("-from %s: %w (a directory a run with -save filled)", dir, err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("-from %s: %s: %w", dir, savedRunFile, err)
	}
	return r, nil
}

// apply makes c and f what the saved run measured and was run with; Velero's rows stay only if
// c asks for Velero.
func (r savedRun) apply(c *config, f *figures) {
	c.namespaces, c.parallelism, c.refBin = r.Namespaces, r.Parallelism, r.RefBin
	*f = figures{sourceFigures: r.sourceFigures, velero: c.velero, savedAt: r.Saved}
	if f.CPU == nil {
		f.CPU = map[string]cpuUse{}
	}
}

// copyS3Data copies a saved run's S3 data into dir, with the extended attributes versitygw keeps
// its metadata in, so that the restores leave the saved run as it was.
func copyS3Data(ctx context.Context, from, dir string) error {
	out, err := exec.CommandContext(ctx, "cp", "-a", filepath.Join(from, "s3"), dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("copy the saved S3 data from %s: %w: %s", from, err, out)
	}
	return nil
}
