package localcluster

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// AgentImage is the agent image the tests build from this checkout and import into the node.
const AgentImage = "local/cairn-agent:dev"

// agentUID is the image's user: non-root, the uid install.DefaultRunAsUser names.
const agentUID = 65532

// caBundle is where Debian keeps the CA certificates; the image carries them at the same path so
// that the agent reaches an HTTPS vault or cloud storage.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// BuildAgentImage writes a docker-archive tarball at outTar of a one-layer image tagged tag: the
// static cairn binary at /cairn (the entrypoint), /etc/passwd and /etc/group naming the non-root
// user cairn (65532, the image's user), a writable /tmp, and the host's CA certificates when it
// has them. The binary must be static (CGO_ENABLED=0): the image has no C library.
func BuildAgentImage(ctx context.Context, binaryPath, tag, outTar string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if tag == "" {
		return errors.New("agent image: no tag (e.g. local/cairn-agent:dev)")
	}
	bin, err := os.ReadFile(binaryPath)
	if err != nil {
		return fmt.Errorf("agent image: read the cairn binary: %w", err)
	}
	if err := checkStatic(binaryPath); err != nil {
		return err
	}
	files := []imageFile{
		{path: "cairn", data: bin, mode: 0o755},
		{path: "etc/passwd", data: fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\ncairn:x:%d:%d:cairn:/tmp:/sbin/nologin\n", agentUID, agentUID), mode: 0o644},
		{path: "etc/group", data: fmt.Appendf(nil, "root:x:0:\ncairn:x:%d:\n", agentUID), mode: 0o644},
	}
	switch certs, err := os.ReadFile(caBundle); {
	case err == nil:
		files = append(files, imageFile{path: strings.TrimPrefix(caBundle, "/"), data: certs, mode: 0o644})
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("agent image: read CA certificates: %w", err)
	}
	layer, err := layerTar(files)
	if err != nil {
		return err
	}
	config := map[string]any{
		"Env":        []string{"PATH=/", "SSL_CERT_FILE=" + caBundle},
		"Entrypoint": []string{"/cairn"},
		"User":       fmt.Sprintf("%d:%d", agentUID, agentUID),
		"WorkingDir": "/tmp",
	}
	if err := os.MkdirAll(filepath.Dir(outTar), 0o755); err != nil {
		return fmt.Errorf("agent image: %w", err)
	}
	return writeArchive(outTar, tag, layer, config)
}

// checkStatic refuses a dynamically linked binary: it would not start in an image without libc.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("agent image: %s is not a Linux binary: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("agent image: %s is dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("agent image: %s is built for %s; the image is linux/amd64 (GOARCH=amd64)", path, f.Machine)
	}
	return nil
}

// writeArchive writes a one-layer image in the docker-archive format `ctr images import` and
// `docker load` read; imageConfig is the image configuration's "config" (Env, Entrypoint, ...).
func writeArchive(path, ref string, layer []byte, imageConfig map[string]any) error {
	layerSum := sha256.Sum256(layer)
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      time.Unix(0, 0).UTC().Format(time.RFC3339),
		"config":       imageConfig,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(layerSum[:])}},
	})
	if err != nil {
		return fmt.Errorf("encode image config: %w", err)
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	layerName := hex.EncodeToString(layerSum[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": []string{ref}, "Layers": []string{layerName}}})
	if err != nil {
		return fmt.Errorf("encode image manifest: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write image %s: %w", path, err)
	}
	tw := tar.NewWriter(f)
	for _, e := range []struct {
		name string
		data []byte
	}{{configName, config}, {layerName, layer}, {"manifest.json", manifest}} {
		if err = tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: time.Unix(0, 0)}); err != nil {
			break
		}
		if _, err = tw.Write(e.data); err != nil {
			break
		}
	}
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write image %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write image %s: %w", path, err)
	}
	return nil
}

// ImportImage imports a docker-archive tarball into the node's containerd (namespace k8s.io),
// where the kubelet finds it: pods use it with imagePullPolicy Never or IfNotPresent. An image
// tagged local/x:1 is known to containerd as docker.io/local/x:1.
func (c *Cluster) ImportImage(ctx context.Context, tarPath string) error {
	if c.State.Node == "" {
		return fmt.Errorf("cluster %s has no node to import %s into", c.opts.Name, tarPath)
	}
	out, err := exec.CommandContext(ctx, "ctr", "--address", c.containerdSock(), "-n", "k8s.io", "images", "import", tarPath).CombinedOutput()
	if err != nil {
		return fmt.Errorf("import image %s into cluster %s: %w: %s", tarPath, c.opts.Name, err, out)
	}
	return nil
}
