package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/bench/internal/harness"
)

func TestSavedRunRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := config{namespaces: 7, parallelism: 12, velero: true}
	f := figures{sourceFigures: sourceFigures{
		Objects: 2106, Listed: 2127, RawCreate: 3 * time.Second, RawList: time.Second,
		Backup: harness.Measured{Wall: 2 * time.Second, PeakRSSKiB: 1 << 17}, BackedUp: 2200, StoredBytes: 1 << 20,
		VeleroBackup: veleroRun{Wall: 20 * time.Second, Items: 2128}, VeleroDescription: "Velero v1",
		CPU: map[string]cpuUse{rowBackup: {Tool: time.Second, Cluster: 2 * time.Second, S3: time.Millisecond}},
	}, velero: true}
	saved := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	if err := saveRun(dir, c, f, harness.S3{AccessKey: "a", SecretKey: "s", Bucket: "b", Region: "r"}, saved); err != nil {
		t.Fatal(err)
	}
	r, err := loadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.S3.AccessKey != "a" || r.S3.SecretKey != "s" || r.S3.Bucket != "b" || r.S3.Region != "r" {
		t.Errorf("S3 = %+v", r.S3)
	}
	var got config
	got.velero = true
	var gotF figures
	r.apply(&got, &gotF)
	if got.namespaces != 7 || got.parallelism != 12 {
		t.Errorf("config = %+v, want the saved namespaces and parallelism", got)
	}
	want := f
	want.savedAt = saved
	if gotF.Objects != want.Objects || gotF.Backup.Wall != want.Backup.Wall || gotF.VeleroBackup.Items != want.VeleroBackup.Items ||
		gotF.CPU[rowBackup] != want.CPU[rowBackup] || !gotF.savedAt.Equal(saved) || !gotF.velero {
		t.Errorf("figures = %+v, want %+v", gotF, want)
	}

	var noVelero config
	r.apply(&noVelero, &gotF)
	if gotF.velero {
		t.Error("Velero's rows kept for a run that does not ask for Velero")
	}
}

func TestCheckSaveDirKeepsASavedRun(t *testing.T) {
	dir := t.TempDir()
	if err := checkSaveDir(filepath.Join(dir, "new")); err != nil {
		t.Errorf("a new directory: %v", err)
	}
	if err := checkSaveDir(dir); err != nil {
		t.Errorf("an empty directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, savedRunFile), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkSaveDir(dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a directory holding a run: %v, want a refusal", err)
	}
}

func TestLoadRunNamesTheDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := loadRun(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("loadRun of an empty directory: %v, want an error naming it", err)
	}
}
