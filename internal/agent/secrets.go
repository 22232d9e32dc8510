package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/secretref"
	"github.com/cairnbackup/cairn/internal/usecase"
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

// repository is the repository of a storage location, unlocked with the passphrase its secret
// holds; a backup initialises an encrypted one when the storage holds none.
func (a *agent) repository(loc agentv1.StorageLocation, j *jobRun) usecase.RepositoryRef {
	return usecase.RepositoryRef{
		Location:   usecase.Location{URL: loc.URL, Getenv: a.getenv, Metrics: a.metrics.Registerer()},
		Credential: func() (archive.Credential, error) { return a.credential(loc) },
		Explain:    func(err error) error { return explainOpenError(err, loc) },
		Encrypt:    true,
		Initialised: func(st blob.Storage) {
			j.log.Info("initialised a new encrypted repository; keep its passphrase secret safe: without it no recovery point can be read",
				"storage", st.String(), "passphraseSecret", loc.PassphraseSecret)
		},
	}
}

func (a *agent) credential(loc agentv1.StorageLocation) (archive.Credential, error) {
	pass, err := a.secret(loc.PassphraseSecret)
	return archive.Credential{Passphrase: pass}, err
}

// openRecoveryPoint checks a recovery point's name and opens the repository that holds it, for
// the jobs that read or delete one.
func (a *agent) openRecoveryPoint(ctx context.Context, j *jobRun, name string, loc agentv1.StorageLocation) (*archive.Repository, error) {
	if err := archive.ValidateName(name); err != nil {
		return nil, fmt.Errorf("recovery point: %w", err)
	}
	return a.openRepository(ctx, j, loc)
}

// openRepository opens the repository at loc, which must exist.
func (a *agent) openRepository(ctx context.Context, j *jobRun, loc agentv1.StorageLocation) (*archive.Repository, error) {
	j.progress(0, 0, "opening the repository")
	ref := a.repository(loc, j)
	cred, err := ref.Credential()
	if err != nil {
		return nil, err
	}
	repo, err := usecase.OpenRepository(ctx, ref.Location, cred, usecase.OpenOptions{})
	if err != nil {
		return nil, ref.Explain(err)
	}
	return repo, nil
}

// explainOpenError says which of this agent's settings to check when a repository does not open.
func explainOpenError(err error, loc agentv1.StorageLocation) error {
	var se *usecase.StorageError
	var re *usecase.RepositoryError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("open storage: %w (check the storage URL and this agent's storage credentials: AWS_*, AZURE_STORAGE_*)", se.Err)
	case !errors.As(err, &re):
		return err
	case errors.Is(re.Err, archive.ErrWrongKey):
		return fmt.Errorf("%w at %s: passphrase secret %q of this agent does not unlock it", re.Err, re.Storage, loc.PassphraseSecret)
	case errors.Is(re.Err, archive.ErrNoRepository):
		return fmt.Errorf("%w %s: no backup was made there yet, or the storage URL or this agent's storage credentials point elsewhere", archive.ErrNoRepository, re.Storage)
	}
	return fmt.Errorf("open the repository at %s: %w (check this agent's storage credentials)", re.Storage, re.Err)
}
