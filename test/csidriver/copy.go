package csidriver

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// copyTree copies the contents of directory src into the existing directory dst and returns the
// total size of the regular files copied. It copies directories, symlinks and regular files with
// their modes, and their owners when running as root; other file types are skipped.
func copyTree(ctx context.Context, src, dst string) (int64, error) {
	var size int64
	type dirMode struct {
		path string
		info fs.FileInfo
	}
	var dirs []dirMode // modes are applied last, so read-only directories can be filled first
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
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
			dirs = append(dirs, dirMode{target, info})
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
			return chown(target, info)
		case d.Type().IsRegular():
			n, err := copyFile(path, target, info)
			size += n
			return err
		default:
			return nil
		}
	})
	if err != nil {
		return 0, fmt.Errorf("copy %s: %w", src, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := setMode(dirs[i].path, dirs[i].info); err != nil {
			return 0, fmt.Errorf("copy %s: %w", src, err)
		}
	}
	return size, nil
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
	n, err := io.Copy(out, in)
	if err != nil {
		_ = out.Close()
		return n, err
	}
	if err := out.Close(); err != nil {
		return n, err
	}
	return n, setMode(dst, info)
}

// setMode gives path the owner (as root) and then the mode of info; chown first, since it clears
// the set-user-ID and set-group-ID bits.
func setMode(path string, info fs.FileInfo) error {
	if err := chown(path, info); err != nil {
		return err
	}
	return os.Chmod(path, info.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}

func chown(path string, info fs.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 {
		return nil
	}
	return os.Lchown(path, int(st.Uid), int(st.Gid))
}
