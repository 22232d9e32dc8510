package csidriver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// treeSize counts the bytes of the regular files of a copied tree: all of them, and those
// actually copied rather than hard-linked.
type treeSize struct {
	total, copied int64
}

// copyTree copies the contents of directory src into the existing directory dst. It copies
// directories, symlinks and regular files with their modes and modification times, and their
// owners when running as root; other file types are skipped. If base is not "", a regular file
// that base holds unchanged at the same path (see unchanged) is hard-linked from there instead.
func copyTree(ctx context.Context, src, dst, base string) (treeSize, error) {
	c := &treeCopy{src: src, dst: dst, base: base}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return c.visit(path, d)
	})
	if err != nil {
		return treeSize{}, fmt.Errorf("copy %s: %w", src, err)
	}
	// Directories get their attributes last, deepest first: filling a directory changes its
	// modification time, and a read-only one could not be filled.
	for i := len(c.dirs) - 1; i >= 0; i-- {
		if err := setAttrs(c.dirs[i].path, c.dirs[i].info); err != nil {
			return treeSize{}, fmt.Errorf("copy %s: %w", src, err)
		}
	}
	return c.size, nil
}

// treeCopy is the state of one copyTree walk.
type treeCopy struct {
	src, dst, base string
	size           treeSize
	dirs           []copiedDir
}

type copiedDir struct {
	path string
	info fs.FileInfo
}

func (c *treeCopy) visit(path string, d fs.DirEntry) error {
	rel, err := filepath.Rel(c.src, path)
	if err != nil {
		return err
	}
	target := filepath.Join(c.dst, rel)
	info, err := d.Info()
	if err != nil {
		return err
	}
	switch {
	case d.IsDir():
		if rel != "." {
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
		}
		c.dirs = append(c.dirs, copiedDir{target, info})
		return nil
	case d.Type()&fs.ModeSymlink != 0:
		return copySymlink(path, target, info)
	case d.Type().IsRegular():
		return c.placeFile(path, rel, target, info)
	default:
		return nil
	}
}

// placeFile fills target with the regular file at path: a hard link to the base's file at rel if
// that is unchanged, else a copy.
func (c *treeCopy) placeFile(path, rel, target string, info fs.FileInfo) error {
	if c.base != "" {
		linked, err := linkUnchanged(filepath.Join(c.base, rel), target, info)
		if err != nil {
			return err
		}
		if linked {
			c.size.total += info.Size()
			return nil
		}
	}
	n, err := copyFile(path, target, info)
	c.size.total += n
	c.size.copied += n
	return err
}

// linkUnchanged hard-links prev to target if prev is unchanged from info, and reports whether it
// did. One inode takes a limited number of links (65000 on ext4); past that the file is copied.
func linkUnchanged(prev, target string, info fs.FileInfo) (bool, error) {
	prevInfo, err := os.Lstat(prev)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !unchanged(info, prevInfo) {
		return false, nil
	}
	err = os.Link(prev, target)
	if errors.Is(err, unix.EMLINK) {
		return false, nil
	}
	return err == nil, err
}

// unchanged reports whether the regular file cur still matches its earlier copy prev: same size,
// mode and modification time, and same owner when running as root (which copies owners).
func unchanged(cur, prev fs.FileInfo) bool {
	if !prev.Mode().IsRegular() || cur.Size() != prev.Size() || cur.Mode() != prev.Mode() || !cur.ModTime().Equal(prev.ModTime()) {
		return false
	}
	if os.Geteuid() != 0 {
		return true
	}
	c, ok1 := cur.Sys().(*syscall.Stat_t)
	p, ok2 := prev.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && c.Uid == p.Uid && c.Gid == p.Gid
}

func copySymlink(path, target string, info fs.FileInfo) error {
	link, err := os.Readlink(path)
	if err != nil {
		return err
	}
	if err := os.Symlink(link, target); err != nil {
		return err
	}
	if err := chown(target, info); err != nil {
		return err
	}
	return setMtime(target, info)
}

func copyFile(src, dst string, info fs.FileInfo) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	err = copySparse(in, out, info.Size())
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return info.Size(), setAttrs(dst, info)
}

// copySparse copies the data extents of in and leaves its holes holes in out (a block volume's
// image is mostly one).
func copySparse(in, out *os.File, size int64) error {
	fd := int(in.Fd())
	for off := int64(0); off < size; {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // a hole to the end
		}
		if err != nil {
			return &fs.PathError{Op: "seek", Path: in.Name(), Err: err}
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return &fs.PathError{Op: "seek", Path: in.Name(), Err: err}
		}
		if _, err := io.Copy(io.NewOffsetWriter(out, data), io.NewSectionReader(in, data, hole-data)); err != nil {
			return err
		}
		off = hole
	}
	return out.Truncate(size)
}

// setAttrs gives path the owner (as root), the mode and the modification time of info; chown
// first, since it clears the set-user-ID and set-group-ID bits, and the time once the content
// is written.
func setAttrs(path string, info fs.FileInfo) error {
	if err := chown(path, info); err != nil {
		return err
	}
	if err := os.Chmod(path, info.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	return setMtime(path, info)
}

func chown(path string, info fs.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 {
		return nil
	}
	return os.Lchown(path, int(st.Uid), int(st.Gid))
}

// setMtime gives path, which may be a symlink, the modification time of info; the access time
// is left as it is.
func setMtime(path string, info fs.FileInfo) error {
	times := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(info.ModTime().UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimensat", Path: path, Err: err}
	}
	return nil
}
