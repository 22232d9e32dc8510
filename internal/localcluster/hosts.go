package localcluster

import (
	"fmt"
	"os"
	"strings"
)

// hostsFile is where the node's name is mapped to 127.0.0.1, so that the apiserver reaches the
// kubelet on loopback. The line carries a marker naming the cluster directory, so stop removes
// exactly the line its start added.
const hostsFile = "/etc/hosts"

func hostsMarker(dir string) string { return "# cairn-localcluster " + dir }

func addHostsEntry(file, name, dir string) error {
	if err := removeHostsEntry(file, dir); err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	text := string(data)
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	text += fmt.Sprintf("127.0.0.1 %s %s\n", name, hostsMarker(dir))
	return writeInPlace(file, text)
}

func removeHostsEntry(file, dir string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	marker := hostsMarker(dir)
	lines := strings.SplitAfter(string(data), "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasSuffix(strings.TrimRight(l, "\n"), marker) {
			kept = append(kept, l)
		}
	}
	if len(kept) == len(lines) {
		return nil
	}
	return writeInPlace(file, strings.Join(kept, ""))
}

// writeInPlace rewrites the file without replacing it: /etc/hosts is often a bind mount, which a
// rename cannot replace.
func writeInPlace(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
