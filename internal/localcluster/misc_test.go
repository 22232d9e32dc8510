package localcluster

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{
		`/plain/path`:          "/plain/path",
		`/with\040space`:       "/with space",
		`/tab\011and\134slash`: "/tab\tand\\slash",
		`/trailing\04`:         `/trailing\04`,
	} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescapeMountPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadVersions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "versions.sh")
	text := "# comment\nKUBE_VERSION=v1.35.4\nETCD_VERSION=v3.6.16\nCAIRN_CACHE=${CAIRN_CACHE:-x}\nexport KUBE_VERSION\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	vars, err := readVersions(file)
	if err != nil {
		t.Fatal(err)
	}
	if vars["KUBE_VERSION"] != "v1.35.4" || vars["ETCD_VERSION"] != "v3.6.16" {
		t.Errorf("versions = %v", vars)
	}
	if _, ok := vars["CAIRN_CACHE"]; ok {
		t.Errorf("a shell expansion was taken as a value: %v", vars)
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	ports, err := freePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || p <= 0 {
			t.Fatalf("ports %v repeat or are invalid", ports)
		}
		seen[p] = true
	}
}

func TestOpenRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "Dev", "a_b", "-x", "../etc", "averyveryveryveryverylongclustername"} {
		if _, err := Open(Options{Name: name, StateRoot: t.TempDir()}); err == nil {
			t.Errorf("Open accepted cluster name %q", name)
		}
	}
}

func TestLayerTarHoldsFilesAndLinks(t *testing.T) {
	layer, err := layerTar([]imageFile{
		{path: "bin/busybox", data: []byte("ELF"), mode: 0o755},
		{path: "bin/sh", symlink: "busybox"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	if h := got["bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
		t.Errorf("bin/sh is not a link to busybox: %+v", h)
	}
	if h := got["bin/busybox"]; h == nil || h.Size != 3 || h.Mode != 0o755 {
		t.Errorf("bin/busybox wrong: %+v", h)
	}
	if h := got["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("tmp/ missing or not sticky: %+v", h)
	}
	if h := got["bin/"]; h == nil || h.Typeflag != tar.TypeDir {
		t.Errorf("the files' parent directory bin/ missing: %+v", h)
	}
}
