//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/files/filestest"
)

// TestFileStoreWholeCycle runs the file store's whole cycle through the CLI on every kind of
// storage: a backup of every kind of entry, an incremental one after a change, list and ls,
// restores compared with the source, forget, collection, verification with every byte read.
func TestFileStoreWholeCycle(t *testing.T) {
	storages := append([]remoteStorage{{name: "filesystem", url: "file://" + filepath.Join(t.TempDir(), "repo")}},
		remoteStorages(t, "cairn-files", "repo")...)
	for _, tc := range storages {
		t.Run(tc.name, func(t *testing.T) {
			run := func(args ...string) string {
				t.Helper()
				out, errOut, err := cairnWithEnv(t, nil, tc.env, append(args, "--storage", tc.url)...)
				if err != nil {
					t.Fatalf("cairn %s: %v\n%s\n%s", strings.Join(args, " "), err, out, errOut)
				}
				return out
			}
			src := t.TempDir()
			filestest.MakeEveryKind(t, src)
			first := snapshotID(t, run("files", "backup", src, "--source", "it", "--tag", "case="+tc.name))
			// Most of the data changes: the first snapshot's copy is what a collection frees.
			filestest.WriteFile(t, filepath.Join(src, "big.bin"), filestest.RandomBytes(99, 3<<20), 0o644)
			out := run("files", "backup", src, "--source", "it")
			if !strings.Contains(out, "(7 unchanged)") {
				t.Fatalf("the second backup read more than the changed file: %s", out)
			}
			second := snapshotID(t, out)
			if list := run("files", "list"); !strings.Contains(list, first[:8]) || !strings.Contains(list, second[:8]) || !strings.Contains(list, "case="+tc.name) {
				t.Fatalf("list: %s", list)
			}
			if ls := run("files", "ls", second[:8]+":dir", "-r"); !strings.Contains(ls, "dir/deeper/text.log") || !strings.Contains(ls, "dir/exec.sh") {
				t.Fatalf("ls: %s", ls)
			}
			restoreAndCompare(t, run, "latest", src)
			run("files", "forget", first)
			gc := run("files", "gc", "--grace-period", "0")
			if !regexp.MustCompile(`deleted: [1-9]`).MatchString(gc) {
				t.Fatalf("gc after forgetting the first snapshot freed nothing: %s", gc)
			}
			if v := run("files", "verify", "--read-data"); !strings.Contains(v, "file store: intact") || strings.Contains(v, "note:") {
				t.Fatalf("verify: %s", v)
			}
			if v := run("backup", "verify", "--all", "--read-data-subset", "50%"); !strings.Contains(v, "file store: intact") {
				t.Fatalf("backup verify --all: %s", v)
			}
			restoreAndCompare(t, run, second, src)
		})
	}
}

var snapshotLine = regexp.MustCompile(`snapshot ([0-9a-f]{32}) of`)

func snapshotID(t *testing.T, out string) string {
	t.Helper()
	m := snapshotLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no snapshot ID in %q", out)
	}
	return m[1]
}

func restoreAndCompare(t *testing.T, run func(...string) string, snap, src string) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "restored")
	run("files", "restore", snap, dst)
	if d := filestest.Diff(filestest.Describe(t, src), filestest.Describe(t, dst)); d != "" {
		t.Fatalf("restore of %s differs from the source:\n%s", snap, d)
	}
	_ = os.RemoveAll(dst)
}
