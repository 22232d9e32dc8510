package csidriver

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCopyTreeKeepsModTimes(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	for _, dir := range []string{"sub", "sub/ro"} {
		if err := os.Mkdir(filepath.Join(src, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(src, "a.txt"), "a", 0o644)
	writeFile(t, filepath.Join(src, "sub", "ro", "b.txt"), "bee", 0o444)
	if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2023, 5, 6, 7, 8, 9, 123456789, time.UTC)
	mtimes := map[string]time.Time{}
	for i, rel := range []string{"sub/ro/b.txt", "sub/ro", "sub", "a.txt", "link", "."} { // parents after their children
		mtimes[rel] = base.Add(time.Duration(i) * time.Minute)
		ts := []unix.Timespec{unix.NsecToTimespec(mtimes[rel].UnixNano()), unix.NsecToTimespec(mtimes[rel].UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(src, rel), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(src, "sub", "ro"), 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(dst, "sub", "ro"), 0o755) }) // so TempDir can remove it

	size, err := copyTree(t.Context(), src, dst, "")
	if err != nil {
		t.Fatal(err)
	}
	if size != (treeSize{total: 4, copied: 4}) {
		t.Errorf("copyTree size = %+v, want 4 bytes, all copied", size)
	}
	for rel, want := range mtimes {
		info, err := os.Lstat(filepath.Join(dst, rel))
		if err != nil || !info.ModTime().Equal(want) {
			t.Errorf("copied %s: %v, %v; want modification time %v", rel, info, err, want)
		}
	}
	if info, err := os.Lstat(filepath.Join(dst, "sub", "ro")); err != nil || info.Mode() != fs.ModeDir|0o555 {
		t.Errorf("copied sub/ro: %v, %v; want a read-only directory", info, err)
	}
}
