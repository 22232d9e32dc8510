package csidriver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
)

// loopMajor is the device major number of loop devices.
const loopMajor = 7

// publishBlock attaches a loop device to the block volume's image and bind-mounts the device
// node onto the target file, which it creates (the kubelet made its directory).
func (d *driver) publishBlock(id, target string, readonly bool) (*csi.NodePublishVolumeResponse, error) {
	mounted, err := isMountPoint(target)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, internal("check target path", err)
	}
	if mounted {
		return &csi.NodePublishVolumeResponse{}, nil
	}
	loop, err := attachLoop(filepath.Join(d.store.dataPath(volumesDir, id), BlockImageName), readonly)
	if err != nil {
		return nil, internal("publish volume", err)
	}
	if err := bindDevice(loop, target); err != nil {
		_ = os.Remove(target)
		_ = detachLoop(loop)
		return nil, internal("publish volume", err)
	}
	d.log.Info("block volume published", "volume", id, "target", target, "device", loop, "readonly", readonly)
	return &csi.NodePublishVolumeResponse{}, nil
}

// bindDevice creates the file target and bind-mounts the device node dev onto it.
func bindDevice(dev, target string) error {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create target file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create target file: %w", err)
	}
	if err := unix.Mount(dev, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mount %s on %s: %w", dev, target, err)
	}
	return nil
}

// attachLoop attaches a free loop device to the image, read-only if asked, and returns its path.
// losetup (util-linux) finds a free device and makes its node; its ioctl sequence is not worth
// repeating in a test driver.
func attachLoop(image string, readonly bool) (string, error) {
	args := []string{"--find", "--show"}
	if readonly {
		args = append(args, "--read-only")
	}
	out, err := exec.Command("losetup", append(args, image)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("losetup %s: %w: %s", image, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// detachLoop detaches the loop device (at once, or when its last user closes it).
func detachLoop(dev string) error {
	if out, err := exec.Command("losetup", "--detach", dev).CombinedOutput(); err != nil {
		return fmt.Errorf("losetup --detach %s: %w: %s", dev, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// publishedLoop returns the loop device mounted on target when it is one of this driver's (its
// backing file lies in the state directory), else "".
func (d *driver) publishedLoop(target string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(target, &st); err != nil {
		return "", &fs.PathError{Op: "stat", Path: target, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK || unix.Major(st.Rdev) != loopMajor {
		return "", nil
	}
	sys := fmt.Sprintf("/sys/dev/block/%d:%d", loopMajor, unix.Minor(st.Rdev))
	backing, err := os.ReadFile(filepath.Join(sys, "loop", "backing_file"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil // detached already, or a partition of a loop device
	}
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(strings.TrimSpace(string(backing)), d.store.root+string(filepath.Separator)) {
		return "", nil
	}
	// The device's name, not its minor: loop.max_part > 0 spaces the minors of loop devices apart.
	dev, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return "", err
	}
	return "/dev/" + filepath.Base(dev), nil
}
