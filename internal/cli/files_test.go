package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runFiles(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	env := Env{Stdout: &out, Stderr: &out, Getenv: func(k string) string {
		if k == "CAIRN_PASSPHRASE" {
			return "files-cli-test"
		}
		return ""
	}}
	root := NewRootCommand(env)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func TestFilesCommands(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	storage := "file://" + filepath.Join(t.TempDir(), "repo")
	out, err := runFiles(t, "files", "backup", src, "--storage", storage, "--source", "s", "--tag", "k=v", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var snap struct {
		ID   string            `json:"id"`
		Tags map[string]string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &snap); err != nil || len(snap.ID) != 32 || snap.Tags["k"] != "v" {
		t.Fatalf("backup -o json: %v %q", err, out)
	}
	dst := filepath.Join(t.TempDir(), "r")
	if out, err := runFiles(t, "files", "restore", snap.ID[:6]+":a.txt", dst, "--storage", storage); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "a.txt")); string(got) != "hello" {
		t.Fatalf("restored %q", got)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"files", "backup", src, "--tag", "novalue"}, "write it as key=value"},
		{[]string{"files", "backup", filepath.Join(src, "a.txt")}, "not a directory or a block device"},
		{[]string{"files", "restore", "latest", dst}, "not empty"},
		{[]string{"files", "restore", "ffffffff", t.TempDir()}, "no such file snapshot"},
		{[]string{"files", "restore", "ab", t.TempDir()}, "at least 4 hex digits"},
		{[]string{"files", "ls", "latest:no/such"}, "no such file or directory in the snapshot"},
		{[]string{"files", "verify", "--read-data-subset", "5"}, "give a percentage"},
		{[]string{"files", "verify", "--read-data", "--read-data-subset", "5%"}, "not both"},
		{[]string{"files", "gc", "--grace-period", "-1s"}, "0 or more"},
		{[]string{"files", "gc", "--repack-below", "0"}, "between 1 and 100"},
		{[]string{"backup", "verify", "x", "--read-data"}, "which --all verifies"},
		{[]string{"files", "list", "-o", "xml"}, "unknown output format"},
	} {
		out, err := runFiles(t, append(tc.args, "--storage", storage)...)
		if err == nil || !strings.Contains(err.Error()+out, tc.want) {
			t.Errorf("cairn %s: want an error with %q, got %v\n%s", strings.Join(tc.args, " "), tc.want, err, out)
		}
	}
	if out, err := runFiles(t, "files", "verify", "--read-data", "--storage", storage); err != nil || !strings.Contains(out, "file store: intact") {
		t.Fatalf("verify: %v %s", err, out)
	}
}
