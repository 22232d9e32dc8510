package blobopen_test

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
)

func TestOpenFile(t *testing.T) {
	ctx := t.Context()
	root := filepath.Join(t.TempDir(), "backups", "cairn")
	s, err := blobopen.Open(ctx, "file://"+filepath.ToSlash(root), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := "file://" + filepath.ToSlash(root); s.String() != want {
		t.Errorf("String() = %q, want %q", s.String(), want)
	}
	if err := s.Put(ctx, "rp/1", strings.NewReader("recovery point"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// A second Open of the same URL sees the same objects.
	again, err := blobopen.Open(ctx, "file://"+filepath.ToSlash(root), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := again.Get(ctx, "rp/1", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, err := io.ReadAll(rc); err != nil || string(b) != "recovery point" {
		t.Errorf("read back %q, %v", b, err)
	}
}

func TestOpenMemory(t *testing.T) {
	ctx := t.Context()
	a, err := blobopen.Open(ctx, "mem://", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := blobopen.Open(ctx, "mem://", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, "k", strings.NewReader("v"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "k"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("two mem:// stores share objects: Stat = %v", err)
	}
	if _, err := blobopen.Open(ctx, "mem://named", noEnv); err == nil {
		t.Error("mem://named accepted")
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"file://relative/path", []string{"absolute path", "file:///var/backups/cairn"}},
		{"file:relative", []string{"absolute path", "file:///var/backups/cairn"}},
		{"file://", []string{"absolute path", "file:///var/backups/cairn"}},
		{"", []string{"empty", "file:///var/backups/cairn"}},
		{"/var/backups/cairn", []string{"no scheme", "file:///var/backups/cairn"}},
		{"backups", []string{"no scheme", "file:///var/backups/cairn"}},
		{"ftp://bucket/prefix", []string{`"ftp"`, "file://", "mem://", "s3://", "azblob://"}},
		{"gopher://user:hunter2@host/", []string{`"gopher"`, "file://, s3://, azblob:// and mem://"}},
		{"azblob://AKIDSECRET:hunter2@acct/c?sig=hunter2", []string{"environment"}},
		{"file://u:hunter2@/var/x?sig=hunter2", []string{"file:// takes only a path"}},
		{"http://[::1", []string{"invalid storage URL"}},
	} {
		_, err := blobopen.Open(t.Context(), tc.url, noEnv)
		if err == nil {
			t.Errorf("Open(%q) succeeded", tc.url)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Open(%q) error %q lacks %q", tc.url, err, want)
			}
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "AKIDSECRET") {
			t.Errorf("Open(%q) error %q reveals the password", tc.url, err)
		}
	}
}

func noEnv(string) string { return "" }
