//go:build integration

package integration

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/files/filestest"
)

// TestKilledFileBackups kills a real cairn files backup process at random moments, 12 times: no
// kill may leave a snapshot that does not open, every kill leaves a repository that verifies,
// and once the dead processes' locks are stale a collection removes all they left.
func TestKilledFileBackups(t *testing.T) {
	repoDir := filepath.Join(t.TempDir(), "repo")
	storage := "file://" + repoDir
	src := t.TempDir()
	for i := range 24 {
		filestest.WriteFile(t, filepath.Join(src, "d", string(rune('a'+i%20)), "f"+strings.Repeat("x", i)), filestest.RandomBytes(uint64(i), 1_500_000), 0o644)
	}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, err := cairnWithEnv(t, nil, nil, append(args, "--storage", storage)...)
		if err != nil {
			t.Fatalf("cairn %s: %v\n%s\n%s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}
	start := time.Now()
	run("files", "backup", src, "--source", "kill")
	full := time.Since(start)

	r := rand.New(rand.NewPCG(1, 2))
	killed := 0
	const runs = 12
	for i := range runs {
		filestest.WriteFile(t, filepath.Join(src, "d", "changed", "f"+string(rune('a'+i))), filestest.RandomBytes(uint64(100+i), 4_000_000), 0o644)
		cmd := exec.Command(os.Args[0], "files", "backup", src, "--source", "kill", "--read-all", "--storage", storage)
		cmd.Env = append(os.Environ(), runAsCairn+"=1", "CAIRN_PASSPHRASE="+testPassphrase)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.Int64N(int64(full) + int64(200*time.Millisecond))))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		if err := cmd.Wait(); err != nil {
			killed++
		}
		if list := run("files", "list"); strings.Count(list, "\n") < 2 {
			t.Fatalf("run %d: list: %s", i, list)
		}
		if v := run("files", "verify"); !strings.Contains(v, "file store: intact") {
			t.Fatalf("run %d: a killed backup left a store that does not verify: %s", i, v)
		}
	}
	if killed < runs/2 {
		t.Fatalf("only %d of %d backups were killed before they finished; the test does not test much", killed, runs)
	}
	// The dead processes' locks go stale (their time passes), then a collection cleans up.
	stale := time.Now().Add(-filerepo.LockStaleAfter - time.Minute)
	locks, _ := filepath.Glob(filepath.Join(repoDir, "files", "locks", "*"))
	for _, l := range locks {
		filestest.Must(t, os.Chtimes(l, stale, stale))
	}
	run("files", "gc", "--grace-period", "0")
	if v := run("files", "verify", "--read-data"); !strings.Contains(v, "file store: intact") || strings.Contains(v, "note:") {
		t.Fatalf("after a collection: %s", v)
	}
	run("files", "backup", src, "--source", "kill")
	restoreAndCompare(t, run, "latest", src)
	t.Logf("%d of %d backups killed (a whole one takes %s)", killed, runs, full.Round(time.Millisecond))
}
