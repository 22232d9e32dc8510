package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// ErrSecretNotFound means neither the secrets directory nor the environment holds a secret.
var ErrSecretNotFound = errors.New("secret not found")

// secretName is what a secret may be called: a Kubernetes Secret key, never a path.
var secretName = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// secretEnv is the environment variable that holds secret name: CAIRN_SECRET_<NAME>, upper case,
// with '-' and '.' as '_'.
func secretEnv(name string) string {
	return "CAIRN_SECRET_" + strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(name))
}

// secret reads secret name from <SecretsDir>/<name> (its trailing newline trimmed), else from the
// environment (docs/design/vault.md, "Agent secrets").
func (a *agent) secret(name string) ([]byte, error) {
	if name == "" {
		return nil, errors.New("the storage location names no passphrase secret (storage.passphraseSecret)")
	}
	if !secretName.MatchString(name) || name == "." || name == ".." {
		return nil, fmt.Errorf("secret name %q: use letters, digits, '-', '_' and '.' only", name)
	}
	where := "no --secrets-dir is set"
	if dir := a.opts.SecretsDir; dir != "" {
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
	if v := a.getenv(secretEnv(name)); v != "" {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("%w: %q is in neither place the agent looks (%s, and environment variable %s is not set): "+
		"add it to the agent's secrets (in the cluster the Secret cairn-agent-secrets, mounted at --secrets-dir)",
		ErrSecretNotFound, name, where, secretEnv(name))
}

// openRecoveryPoint checks a recovery point's name and opens the repository that holds it, for
// the jobs that read or delete one.
func (a *agent) openRecoveryPoint(ctx context.Context, j *jobRun, name string, loc wire.StorageLocation) (*archive.Repository, error) {
	if err := archive.ValidateName(name); err != nil {
		return nil, fmt.Errorf("recovery point: %w", err)
	}
	j.progress(0, 0, "opening the repository")
	return a.openRepository(ctx, loc, false, j)
}

// openRepository unlocks the repository of a storage location with the passphrase its secret
// holds. With create, it initialises an encrypted repository when the storage holds none.
func (a *agent) openRepository(ctx context.Context, loc wire.StorageLocation, create bool, j *jobRun) (*archive.Repository, error) {
	pass, err := a.secret(loc.PassphraseSecret)
	if err != nil {
		return nil, err
	}
	st, err := blobopen.Open(ctx, loc.URL, a.getenv)
	if err != nil {
		return nil, fmt.Errorf("open storage: %w (check the storage URL and this agent's storage credentials: AWS_*, AZURE_STORAGE_*)", err)
	}
	cred := archive.Credential{Passphrase: pass}
	repo, err := archive.Open(ctx, st, cred)
	if create && errors.Is(err, archive.ErrNoRepository) {
		repo, err = archive.Init(ctx, st, cred, archive.InitOptions{Encrypt: true, Now: a.now()})
		switch {
		case err == nil:
			j.log.Info("initialised a new encrypted repository; keep its passphrase secret safe: without it no recovery point can be read",
				"storage", st.String(), "passphraseSecret", loc.PassphraseSecret)
		case errors.Is(err, blob.ErrAlreadyExists):
			repo, err = archive.Open(ctx, st, cred) // another agent initialised it meanwhile
		}
	}
	switch {
	case errors.Is(err, archive.ErrWrongKey):
		return nil, fmt.Errorf("%w at %s: passphrase secret %q of this agent does not unlock it", err, st, loc.PassphraseSecret)
	case errors.Is(err, archive.ErrNoRepository):
		return nil, fmt.Errorf("%w %s: no backup was made there yet, or the storage URL or this agent's storage credentials point elsewhere", archive.ErrNoRepository, st)
	case err != nil:
		return nil, fmt.Errorf("open the repository at %s: %w (check this agent's storage credentials)", st, err)
	}
	return repo, nil
}
