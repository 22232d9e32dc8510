package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cairnbackup/cairn/internal/localcluster"
)

// toolNames are the columns a run can have, in their default order.
var toolNames = []string{"cairn", "kopia", "kopia-zstd", "restic"}

// The passphrase of every benchmark repository; they are thrown away after the run.
const passphrase = "bench-files-passphrase"

// home is where one run of one tool keeps its repository and its own state.
type home struct {
	dir  string // the tool's work directory, removed after the run
	repo string // the repository (file storage)
	src  string // the source path every backup names
}

// state holds the tool's configuration, cache and logs, apart from the repository.
func (h home) state() string { return filepath.Join(h.dir, "state") }

// tool is one column: a backup program and the way it is called.
type tool struct {
	name    string // the column's name, as -tools spells it
	label   string // what the header says it is
	bin     string
	env     func(h home) []string                 // added to this program's environment
	setup   func(h home) [][]string               // untimed commands creating the repository
	backup  func(h home) []string                 // backs up h.src
	restore func(h home, id, dir string) []string // restores snapshot id's tree as dir
	// snapshotID reads the new snapshot's ID from the backup's standard output.
	snapshotID func(stdout []byte) (string, error)
}

// exec runs one command of t and returns what it cost and its standard output.
func (t *tool) exec(ctx context.Context, h home, args []string) (usage, []byte, error) {
	env := append(os.Environ(),
		// Whatever a tool keeps in the user's cache or configuration goes to its own state too.
		"XDG_CACHE_HOME="+filepath.Join(h.state(), "xdg-cache"),
		"XDG_CONFIG_HOME="+filepath.Join(h.state(), "xdg-config"))
	return runChild(ctx, t.bin, args, append(env, t.env(h)...))
}

// newTool checks that the tool's binary is there (building cairn's if need be) and describes it.
func newTool(ctx context.Context, name string, o options, bins localcluster.Binaries) (*tool, error) {
	switch name {
	case "cairn":
		bin, err := cairnBinary(ctx, o, bins)
		if err != nil {
			return nil, err
		}
		storage := func(h home) string { return "file://" + h.repo }
		return &tool{
			name: name, label: "cairn " + version(ctx, bin, "version", 1) + " (file store defaults)", bin: bin,
			env:   func(home) []string { return []string{"CAIRN_PASSPHRASE=" + passphrase} },
			setup: func(home) [][]string { return nil }, // the first backup initialises the repository
			backup: func(h home) []string {
				return []string{"files", "backup", h.src, "--storage", storage(h), "--source", "bench", "-o", "json"}
			},
			restore: func(h home, id, dir string) []string {
				return []string{"files", "restore", id, dir, "--storage", storage(h)}
			},
			snapshotID: func(stdout []byte) (string, error) {
				var snap struct {
					ID string `json:"id"`
				}
				return snapshotID(json.Unmarshal(stdout, &snap), snap.ID, "cairn files backup -o json", stdout)
			},
		}, nil

	case "kopia", "kopia-zstd":
		bin, err := cachedTool(o.kopia, bins, "kopia", "KOPIA_VERSION")
		if err != nil {
			return nil, err
		}
		v := version(ctx, bin, "--version", 0)
		label := "kopia " + v + " (defaults: no compression)"
		var policy []string
		if name == "kopia-zstd" {
			label = "kopia " + v + " (compression zstd-fastest, the rest defaults)"
			policy = []string{"policy", "set", "--global", "--compression=zstd-fastest"}
		}
		return &tool{
			name: name, label: label, bin: bin,
			env: func(h home) []string {
				return []string{
					"KOPIA_PASSWORD=" + passphrase,
					"KOPIA_CONFIG_PATH=" + filepath.Join(h.state(), "repository.config"),
					"KOPIA_CACHE_DIRECTORY=" + filepath.Join(h.state(), "cache"),
					"KOPIA_LOG_DIR=" + filepath.Join(h.state(), "logs"),
					"KOPIA_PERSIST_CREDENTIALS_ON_CONNECT=false",
					"KOPIA_CHECK_FOR_UPDATES=false",
				}
			},
			setup: func(h home) [][]string {
				// kopia's first writing command after create runs a full maintenance (it is due
				// at once): run it here, on the empty repository, rather than after the timed
				// first backup.
				cmds := [][]string{
					{"repository", "create", "filesystem", "--path", h.repo},
					{"maintenance", "run", "--full"},
				}
				if policy != nil {
					cmds = append(cmds, policy)
				}
				return cmds
			},
			backup: func(h home) []string {
				return []string{"snapshot", "create", h.src, "--json", "--no-progress"}
			},
			restore: func(_ home, id, dir string) []string {
				return []string{"snapshot", "restore", id, dir, "--no-progress"}
			},
			snapshotID: func(stdout []byte) (string, error) {
				var m struct {
					ID string `json:"id"`
				}
				return snapshotID(json.Unmarshal(stdout, &m), m.ID, "kopia snapshot create --json", stdout)
			},
		}, nil

	case "restic":
		bin, err := cachedTool(o.restic, bins, "restic", "RESTIC_VERSION")
		if err != nil {
			return nil, err
		}
		return &tool{
			name: name, label: "restic " + version(ctx, bin, "version", 1) + " (defaults: compression auto, zstd)", bin: bin,
			env: func(h home) []string {
				return []string{
					"RESTIC_PASSWORD=" + passphrase,
					"RESTIC_REPOSITORY=" + h.repo,
					"RESTIC_CACHE_DIR=" + filepath.Join(h.state(), "cache"),
				}
			},
			setup:  func(home) [][]string { return [][]string{{"init"}} },
			backup: func(h home) []string { return []string{"backup", h.src, "--json", "--quiet"} },
			// SNAPSHOT:PATH restores the contents of the backed-up directory, not its absolute path.
			restore: func(h home, id, dir string) []string {
				return []string{"restore", id + ":" + h.src, "--target", dir}
			},
			snapshotID: func(stdout []byte) (string, error) {
				sc := bufio.NewScanner(bytes.NewReader(stdout))
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					var m struct {
						MessageType string `json:"message_type"`
						SnapshotID  string `json:"snapshot_id"`
					}
					if json.Unmarshal(sc.Bytes(), &m) == nil && m.MessageType == "summary" && m.SnapshotID != "" {
						return m.SnapshotID, nil
					}
				}
				return "", fmt.Errorf("restic backup --json printed no summary with a snapshot_id: %.300q", stdout)
			},
		}, nil
	}
	return nil, fmt.Errorf("unknown tool %q", name)
}

// snapshotID is id, unless decoding what cmd printed failed or found none.
func snapshotID(decodeErr error, id, cmd string, stdout []byte) (string, error) {
	switch {
	case decodeErr != nil:
		return "", fmt.Errorf("%s printed no JSON: %w: %.300q", cmd, decodeErr, stdout)
	case id == "":
		return "", fmt.Errorf("%s printed no snapshot id: %.300q", cmd, stdout)
	}
	return id, nil
}

// cachedTool is flagValue if set, else the binary hack/install-bench-tools.sh installs.
func cachedTool(flagValue string, bins localcluster.Binaries, name, versionVar string) (string, error) {
	if flagValue != "" {
		bin, err := filepath.Abs(flagValue)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("-%s: %w", name, err)
		}
		return bin, nil
	}
	v, err := bins.Version(versionVar)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(bins.Cache, "tools", name+"-"+v, name)
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s not found at %s: run make bench-tools (hack/install-bench-tools.sh), or name one with -%s", name, bin, name)
	}
	return bin, nil
}

// cairnBinary is -cairn if set, else cairn built from this checkout into -dir.
func cairnBinary(ctx context.Context, o options, bins localcluster.Binaries) (string, error) {
	if o.cairn != "" {
		bin, err := filepath.Abs(o.cairn)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("-cairn: %w", err)
		}
		return bin, nil
	}
	dir := o.dir
	if dir == "" {
		dir = filepath.Join(bins.State, "bench-files")
	}
	bin := filepath.Join(dir, "cairn")
	fmt.Fprintf(os.Stderr, "building cairn from %s into %s\n", bins.Repo, bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/cairn")
	cmd.Dir = bins.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build cairn: %w\n%s", err, out)
	}
	return bin, nil
}

// version is the word at index field of what the binary prints for its version argument
// ("cairn dev", "v0.23.1 build: ...", "restic 0.19.1 compiled with ..."), or "(version unknown)".
func version(ctx context.Context, bin, arg string, field int) string {
	out, err := exec.CommandContext(ctx, bin, arg).Output()
	words := strings.Fields(string(out))
	if err != nil || len(words) <= field {
		return "(version unknown)"
	}
	return words[field]
}
