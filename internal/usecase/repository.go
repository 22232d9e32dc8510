package usecase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
)

// Location is where a repository lives: a storage URL (package blobopen) and how to read the
// storage credentials its backend takes from the environment.
type Location struct {
	URL    string
	Getenv func(string) string
	// Metrics, if set, records the storage's operations, bytes, latency, errors and retries
	// (package blob/metrics; the agent's /metrics).
	Metrics prometheus.Registerer
}

// OpenOptions adjust OpenRepository.
type OpenOptions struct {
	// Create initialises a repository when the storage holds none.
	Create bool
	// Encrypt is whether a repository Create initialises is encrypted.
	Encrypt bool
	// Now is the clock of a new repository's creation time (default time.Now).
	Now func() time.Time
	// Initialised, if set, is told of a repository Create initialised.
	Initialised func(storage blob.Storage)
}

// StorageError means the storage itself did not open: a bad URL or storage credentials.
type StorageError struct {
	Err error
}

func (e *StorageError) Error() string { return "open storage: " + e.Err.Error() }

func (e *StorageError) Unwrap() error { return e.Err }

// RepositoryError means the storage opened but the repository in it did not: Err wraps
// archive.ErrWrongKey, archive.ErrNoRepository or why it could not be read.
type RepositoryError struct {
	// Storage names the storage as it names itself, without credentials.
	Storage string
	Err     error
}

func (e *RepositoryError) Error() string {
	return fmt.Sprintf("open the repository at %s: %v", e.Storage, e.Err)
}

func (e *RepositoryError) Unwrap() error { return e.Err }

// OpenRepository unlocks the repository at loc with cred. With opts.Create it initialises one
// when the storage holds none; when another process initialised it meanwhile, it opens that one.
// Errors are a *StorageError or a *RepositoryError, for the front end to word.
func OpenRepository(ctx context.Context, loc Location, cred archive.Credential, opts OpenOptions) (*archive.Repository, error) {
	return openRepository(ctx, openStorage, loc, cred, opts)
}

// storageOpener opens the storage of a location: openStorage, or a fake in tests.
type storageOpener func(ctx context.Context, loc Location) (blob.Storage, error)

// openStorage opens the storage of loc with package blobopen, recording its metrics where loc
// says.
func openStorage(ctx context.Context, loc Location) (blob.Storage, error) {
	getenv := loc.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return blobopen.OpenWith(ctx, loc.URL, getenv, blobopen.Options{Metrics: loc.Metrics})
}

func openRepository(ctx context.Context, openStorage storageOpener, loc Location, cred archive.Credential, opts OpenOptions) (*archive.Repository, error) {
	st, err := openStorage(ctx, loc)
	if err != nil {
		return nil, &StorageError{Err: err}
	}
	repo, err := archive.Open(ctx, st, cred)
	if opts.Create && errors.Is(err, archive.ErrNoRepository) {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		repo, err = archive.Init(ctx, st, cred, archive.InitOptions{Encrypt: opts.Encrypt, Now: now()})
		switch {
		case err == nil && opts.Initialised != nil:
			opts.Initialised(st)
		case errors.Is(err, blob.ErrAlreadyExists):
			repo, err = archive.Open(ctx, st, cred) // another process initialised it meanwhile
		}
	}
	if err != nil {
		return nil, &RepositoryError{Storage: st.String(), Err: err}
	}
	return repo, nil
}

// RepositoryRef is the repository a backup or a restore opens: where it is, how to unlock it,
// and how the front end words a failure to open it.
type RepositoryRef struct {
	Location Location
	// Credential reads the passphrase or key (required). It is called when the repository is
	// opened, so that a secret that cannot be read fails a restore's storage check like any
	// other reason the repository does not open.
	Credential func() (archive.Credential, error)
	// Explain words an error of OpenRepository for the front end's user: which URL, secret or
	// credentials to check. nil leaves errors as they are.
	Explain func(error) error
	// Encrypt is whether a backup encrypts the repository it initialises.
	Encrypt bool
	// Initialised, if set, is told of a repository a backup initialised.
	Initialised func(storage blob.Storage)
}

// explain words err for the front end's user, as ref.Explain says (as it is without one).
func (ref RepositoryRef) explain(err error) error {
	if ref.Explain != nil {
		return ref.Explain(err)
	}
	return err
}
