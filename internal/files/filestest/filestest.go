// Package filestest makes directory trees with every kind of entry the file store keeps, and
// describes trees line by line, so tests of backups and restores compare what they restored with
// what they backed up. It is test support: only tests import it.
package filestest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// RandomBytes is seeded, so a test's data is the same on every run.
func RandomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// WriteFile writes a file with its parent directories and sets its mode exactly.
func WriteFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// MakeEveryKind builds a tree with every kind of entry the format knows that a test may make:
// about 5 MiB of files, a 64 MiB sparse file.
func MakeEveryKind(t testing.TB, root string) {
	t.Helper()
	makeEveryKind(t, root, 3<<20+12345, 100_000, 300_000, 64<<20)
}

// MakeSmallEveryKind is MakeEveryKind in under a MiB (a 4 MiB sparse file), for fixtures.
func MakeSmallEveryKind(t testing.TB, root string) {
	t.Helper()
	makeEveryKind(t, root, 600_000, 5_000, 10_000, 4<<20)
}

func makeEveryKind(t testing.TB, root string, big, lines, sparseData int, sparseSize int64) {
	t.Helper()
	WriteFile(t, filepath.Join(root, "small.txt"), []byte("hello\n"), 0o640)
	WriteFile(t, filepath.Join(root, "empty"), nil, 0o600)
	WriteFile(t, filepath.Join(root, "big.bin"), RandomBytes(1, big), 0o644)
	WriteFile(t, filepath.Join(root, "dir", "deeper", "text.log"), bytes.Repeat([]byte("a line of a log\n"), lines), 0o600)
	WriteFile(t, filepath.Join(root, "dir", "exec.sh"), []byte("#!/bin/sh\n"), 0o755)
	WriteFile(t, filepath.Join(root, "name-\xff-not-utf8"), []byte("odd name"), 0o644)
	Must(t, os.Symlink("dir/exec.sh", filepath.Join(root, "link")))
	Must(t, os.Symlink("target-\xfe", filepath.Join(root, "odd-link")))
	Must(t, os.Link(filepath.Join(root, "small.txt"), filepath.Join(root, "dir", "hard-link")))
	Must(t, unix.Mkfifo(filepath.Join(root, "fifo"), 0o600))
	// A sparse file with data at 1 MiB and near its end, holes between.
	f, err := os.Create(filepath.Join(root, "sparse.img"))
	Must(t, err)
	_, err = f.WriteAt(RandomBytes(2, sparseData), 1<<20)
	Must(t, err)
	_, err = f.WriteAt([]byte("tail"), sparseSize-(1<<20))
	Must(t, err)
	Must(t, f.Truncate(sparseSize))
	Must(t, f.Close())
	if err := unix.Setxattr(filepath.Join(root, "small.txt"), "user.cairn-test", []byte("value"), 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
		t.Fatal(err)
	}
	Must(t, os.Chmod(filepath.Join(root, "dir"), 0o750))
	old := time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, p := range []string{"small.txt", "big.bin", "dir/deeper", "dir"} {
		Must(t, os.Chtimes(filepath.Join(root, p), old, old))
	}
	Must(t, unix.Lutimes(filepath.Join(root, "link"), []unix.Timeval{unix.NsecToTimeval(old.UnixNano()), unix.NsecToTimeval(old.UnixNano())}))
}

// Must fails the test on an error.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Describe lists everything a restore must reproduce, one line an entry.
func Describe(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	inodes := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		line := fmt.Sprintf("%s type=%o mode=%o", rel, st.Mode&unix.S_IFMT, st.Mode&0o7777)
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			line += fmt.Sprintf(" mtime=%d", st.Mtim.Nano())
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" size=%d sha=%x", len(data), sha256.Sum256(data))
			if st.Nlink > 1 {
				if first, ok := inodes[st.Ino]; ok {
					line += " linked-to=" + first
				} else {
					inodes[st.Ino] = rel
				}
			}
			if buf := make([]byte, 256); true {
				if n, err := unix.Lgetxattr(p, "user.cairn-test", buf); err == nil {
					line += " xattr=" + string(buf[:n])
				}
			}
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " target=" + target
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// Diff lists the lines only in want (-) or only in got (+); "" when the sets are equal.
func Diff(want, got []string) string {
	var b strings.Builder
	w := map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	g := map[string]bool{}
	for _, l := range got {
		g[l] = true
		if !w[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	for _, l := range want {
		if !g[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	return b.String()
}
