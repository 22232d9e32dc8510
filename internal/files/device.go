package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
)

// isBlockDevice reports whether fi is a block device (a Block-mode volume in a pod).
func isBlockDevice(fi fs.FileInfo) bool {
	return fi.Mode()&fs.ModeDevice != 0 && fi.Mode()&fs.ModeCharDevice == 0
}

// statBlockDevice reports whether path exists and is a block device.
func statBlockDevice(path string) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return isBlockDevice(fi), nil
}

// deviceSize is the size in bytes of the block device at path (a device's stat says 0).
func deviceSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Seek(0, io.SeekEnd)
}

// device queues the block device at path as the one file of the root tree (format §13.3):
// read whole, since a device has no modification time that says it is unchanged.
func (b *backuper) device(ctx context.Context, path string, at time.Time) error {
	size, err := deviceSize(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	b.nDirs.Add(1)
	b.nFiles.Add(1)
	b.nBytes.Add(size)
	root := &dirJob{count: 1, nodes: []filerepo.Node{{Name: filerepo.DeviceImage, Type: filerepo.TypeFile,
		Mode: 0o600, Size: size, MTime: at.UnixNano()}}}
	root.pending.Store(2) // the image, and this
	select {
	case b.files <- fileJob{path: path, dir: root, idx: 0}:
	case <-ctx.Done():
		return nil
	}
	root.done(ctx, b)
	return nil
}

// deviceImage is the image node of a device snapshot, which a restore onto a device writes.
func deviceImage(snap *filerepo.Snapshot, sub string, root *filerepo.Tree) (*filerepo.Node, error) {
	if !snap.Device {
		return nil, fmt.Errorf("snapshot %s is of a directory (%s), not of a block device: restore it into a directory", snap.ID, snap.Path)
	}
	if sub != "" && sub != "/" && sub != filerepo.DeviceImage && sub != "/"+filerepo.DeviceImage {
		return nil, fmt.Errorf("a block device takes the whole image of snapshot %s, not the part %q", snap.ID, sub)
	}
	if root == nil || len(root.Nodes) != 1 || root.Nodes[0].Name != filerepo.DeviceImage || root.Nodes[0].Type != filerepo.TypeFile {
		return nil, fmt.Errorf("snapshot %s is marked as a device's but its root does not hold the one file %s", snap.ID, filerepo.DeviceImage)
	}
	return &root.Nodes[0], nil
}

// openDevice checks that the device at path can hold size bytes.
func openDevice(path string, size int64) (int, error) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	have, err := unix.Seek(fd, 0, io.SeekEnd)
	if err == nil && have < size {
		err = fmt.Errorf("the device holds %d bytes, the image %d: restore onto a device at least as large", have, size)
	}
	if err != nil {
		_ = unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", path, err)
	}
	return fd, nil
}

// zeroRange writes n zeros at off: a hole of the image, which a device does not have.
func zeroRange(fd int, off, n int64) error {
	zeros := make([]byte, min(n, 1<<20))
	for n > 0 {
		w, err := unix.Pwrite(fd, zeros[:min(n, int64(len(zeros)))], off)
		if err != nil {
			return err
		}
		off, n = off+int64(w), n-int64(w)
	}
	return nil
}

// syncDevice flushes what the restore wrote to the device before it is handed to a workload.
func syncDevice(path string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	err = unix.Fsync(fd)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: path, Err: err}
	}
	return nil
}
