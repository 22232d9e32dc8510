package localcluster

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Images the node has without a registry. Pods use them with imagePullPolicy: Never.
const (
	BusyboxImage = "local/busybox:1"
	PauseImage   = "local/pause:1"
)

// imageFile is one file of an image's single layer.
type imageFile struct {
	path    string // inside the image, without leading slash
	data    []byte
	mode    int64
	symlink string
}

// buildImages writes docker-archive tarballs of the busybox and pause images into the cache, once,
// and returns their paths.
func buildImages(ctx context.Context, b Binaries) ([]string, error) {
	dir := filepath.Join(b.State, "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create image cache: %w", err)
	}
	busybox := filepath.Join(dir, "busybox-2.tar")
	if _, err := os.Stat(busybox); err != nil {
		files, err := busyboxFiles()
		if err != nil {
			return nil, err
		}
		bash, err := buildProgram(ctx, b, "bash")
		if err != nil {
			return nil, err
		}
		files = append(files, imageFile{path: "bin/bash", data: bash, mode: 0o755})
		if err := writeImage(busybox, BusyboxImage, files, []string{"sh"}, nil); err != nil {
			return nil, err
		}
	}
	pause := filepath.Join(dir, "pause-1.tar")
	if _, err := os.Stat(pause); err != nil {
		bin, err := buildProgram(ctx, b, "pause")
		if err != nil {
			return nil, err
		}
		files := []imageFile{{path: "pause", data: bin, mode: 0o755}}
		if err := writeImage(pause, PauseImage, files, nil, []string{"/pause"}); err != nil {
			return nil, err
		}
	}
	return []string{busybox, pause}, nil
}

// busyboxFiles makes a root filesystem from Debian's static busybox, with a link for every applet.
func busyboxFiles() ([]imageFile, error) {
	bin, err := os.ReadFile(busyboxBinary)
	if err != nil {
		return nil, fmt.Errorf("read %s (apt-get install -y busybox-static): %w", busyboxBinary, err)
	}
	out, err := exec.Command(busyboxBinary, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	files := []imageFile{
		{path: "bin/busybox", data: bin, mode: 0o755},
		{path: "etc/passwd", data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"), mode: 0o644},
		{path: "etc/group", data: []byte("root:x:0:\nnogroup:x:65534:\n"), mode: 0o644},
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			files = append(files, imageFile{path: "bin/" + applet, symlink: "busybox"})
		}
	}
	return files, nil
}

// buildProgram builds the static program in hack/<name> for an image.
func buildProgram(ctx context.Context, b Binaries, name string) ([]byte, error) {
	out := filepath.Join(b.State, "images", name+".bin")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./hack/"+name)
	cmd.Dir = b.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s binary: %w: %s", name, err, msg)
	}
	defer os.Remove(out)
	return os.ReadFile(out)
}

// writeImage writes a one-layer image of files in the docker-archive format `ctr images import` reads.
func writeImage(path, ref string, files []imageFile, cmd, entrypoint []string) error {
	layer, err := layerTar(files)
	if err != nil {
		return err
	}
	return writeArchive(path, ref, layer, map[string]any{"Env": []string{"PATH=/bin"}, "Cmd": cmd, "Entrypoint": entrypoint})
}

// layerTar writes an image layer: the directories every image has (/tmp world-writable with the
// sticky bit), each file's parent directories, then the files, with fixed times so that the same
// files give the same layer.
func layerTar(files []imageFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dirs := map[string]bool{}
	addDir := func(d string, mode int64) error {
		if dirs[d] {
			return nil
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode, ModTime: epoch})
	}
	for _, d := range []string{"dev", "etc", "proc", "sys", "root"} {
		if err := addDir(d, 0o755); err != nil {
			return nil, fmt.Errorf("write layer: %w", err)
		}
	}
	if err := addDir("tmp", 0o1777); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	for _, f := range files {
		var parents []string
		for d := filepath.Dir(f.path); d != "."; d = filepath.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if err := addDir(d, 0o755); err != nil {
				return nil, fmt.Errorf("write layer: %w", err)
			}
		}
		h := &tar.Header{Name: f.path, Mode: f.mode, ModTime: epoch}
		if f.symlink != "" {
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.symlink, 0o777
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("write layer: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("write layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	return buf.Bytes(), nil
}
