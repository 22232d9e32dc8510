package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
	"github.com/cairnbackup/cairn/internal/secretref"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// ErrSecretNotFound means neither the secrets directory nor the environment holds a secret.
var ErrSecretNotFound = secretref.ErrNotFound

// secret reads secret name from <SecretsDir>/<name>, else from the environment (package
// secretref).
func (a *agent) secret(name string) ([]byte, error) {
	if name == "" {
		return nil, errors.New("the storage location names no passphrase secret (storage.passphraseSecret)")
	}
	return secretref.Read(a.opts.SecretsDir, a.getenv, name)
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
