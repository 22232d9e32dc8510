// Package secretref owns the names of the agent's secrets and where the agent finds them
// (docs/design/vault.md, "Agent secrets"). A storage location names the secret that holds its
// repository passphrase; the agent reads the file of that name in its secrets directory (a key of
// the Secret cairn-agent-secrets, mounted there) or else the environment variable
// CAIRN_SECRET_<NAME>. The vault's API, the CLI, the installer and the agent all check a name
// here, so a name one accepts the others accept too.
package secretref

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrNotFound means neither the secrets directory nor the environment holds a secret.
var ErrNotFound = errors.New("secret not found")

// MaxLen is the longest name: a Kubernetes Secret key's limit.
const MaxLen = 253

// pattern is a Secret key that starts and ends with a letter or digit, so that it is never a
// path ("..") nor a hidden file.
var pattern = regexp.MustCompile(`^[A-Za-z0-9]([-._A-Za-z0-9]*[A-Za-z0-9])?$`)

// Validate checks a secret's name.
func Validate(name string) error {
	if name == "" {
		return errors.New("no secret name given")
	}
	if len(name) > MaxLen || !pattern.MatchString(name) {
		return fmt.Errorf("%q: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, "+
			"at most %d characters (a key of the agent's Secret cairn-agent-secrets)", name, MaxLen)
	}
	return nil
}

// EnvVar is the environment variable that holds secret name: CAIRN_SECRET_<NAME>, upper case,
// with '-' and '.' as '_'.
func EnvVar(name string) string {
	return "CAIRN_SECRET_" + strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
}

// Read reads secret name from <dir>/<name> (its trailing newline trimmed), else from the
// environment through getenv. dir may be empty: then only the environment is read. A secret that
// is in neither place is ErrNotFound, with a message saying where it was looked for.
func Read(dir string, getenv func(string) string, name string) ([]byte, error) {
	if err := Validate(name); err != nil {
		return nil, fmt.Errorf("secret name %w", err)
	}
	where := "no --secrets-dir is set"
	if dir != "" {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			v := strings.TrimRight(string(data), "\r\n")
			if v == "" {
				return nil, fmt.Errorf("secret %q: file %s is empty", name, path)
			}
			return []byte(v), nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("secret %q: %w", name, err)
		}
		where = "no file " + path
	}
	if v := getenv(EnvVar(name)); v != "" {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("%w: %q is in neither place the agent looks (%s, and environment variable %s is not set): "+
		"add it to the agent's secrets (in the cluster the Secret cairn-agent-secrets, mounted at --secrets-dir)",
		ErrNotFound, name, where, EnvVar(name))
}
