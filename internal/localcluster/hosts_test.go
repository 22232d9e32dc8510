package localcluster

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHostsEntryAddedOnceAndRemovedExactly(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hosts")
	original := "127.0.0.1 localhost\n10.1.2.3 other # keep me"
	if err := os.WriteFile(file, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second start after a crash must not add a second line
		if err := addHostsEntry(file, "cairn-a-node", "/state/a"); err != nil {
			t.Fatal(err)
		}
	}
	if err := addHostsEntry(file, "cairn-b-node", "/state/b"); err != nil {
		t.Fatal(err)
	}
	want := original + "\n127.0.0.1 cairn-a-node # cairn-localcluster /state/a\n127.0.0.1 cairn-b-node # cairn-localcluster /state/b\n"
	if got := readFile(t, file); got != want {
		t.Fatalf("after add:\n%q\nwant\n%q", got, want)
	}
	if err := removeHostsEntry(file, "/state/a"); err != nil {
		t.Fatal(err)
	}
	if err := removeHostsEntry(file, "/state/b"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, file); got != original+"\n" {
		t.Fatalf("after remove:\n%q\nwant\n%q", got, original+"\n")
	}
}

func TestRemoveHostsEntryLeavesUntouchedFileAlone(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(file, []byte("127.0.0.1 localhost"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := removeHostsEntry(file, "/state/a"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, file); got != "127.0.0.1 localhost" {
		t.Fatalf("file changed to %q", got)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
