package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// repoFlags locate and unlock a repository. The passphrase never travels on the command line:
// it comes from CAIRN_PASSPHRASE or a file.
type repoFlags struct {
	storage        string
	passphraseFile string
	keyFile        string
	encrypt        bool
	getenv         func(string) string
}

func (f *repoFlags) register(cmd *cobra.Command, canInit bool) {
	cmd.Flags().StringVar(&f.storage, "storage", "", "where backups live, e.g. file:///var/backups/cairn (required)")
	cmd.Flags().StringVar(&f.passphraseFile, "passphrase-file", "", "file holding the repository passphrase (default: $CAIRN_PASSPHRASE)")
	cmd.Flags().StringVar(&f.keyFile, "key-file", "", "file holding at least 32 bytes of key material, instead of a passphrase")
	if canInit {
		cmd.Flags().BoolVar(&f.encrypt, "encryption", true, "when this creates the repository: encrypt everything (AES-256-GCM)")
	}
	_ = cmd.MarkFlagRequired("storage")
}

func (f *repoFlags) credential() (archive.Credential, error) {
	return readCredential(credentialFiles{passphrase: f.passphraseFile, key: f.keyFile}, f.getenv)
}

// credentialFiles name the files a repository's credential is read from, and the flags that
// gave them (for messages).
type credentialFiles struct {
	passphrase, key         string
	passphraseFlag, keyFlag string
}

// readCredential reads a repository's passphrase or key file, or else the passphrase in
// CAIRN_PASSPHRASE: the one way every command unlocks a repository.
func readCredential(files credentialFiles, getenv func(string) string) (archive.Credential, error) {
	passFlag, keyFlag := cmp.Or(files.passphraseFlag, "--passphrase-file"), cmp.Or(files.keyFlag, "--key-file")
	var c archive.Credential
	switch {
	case files.key != "" && files.passphrase != "":
		return c, fmt.Errorf("give %s or %s, not both", passFlag, keyFlag)
	case files.key != "":
		data, err := os.ReadFile(files.key)
		if err != nil {
			return c, fmt.Errorf("read %s: %w", keyFlag, err)
		}
		c.KeyFile = data
	case files.passphrase != "":
		data, err := os.ReadFile(files.passphrase)
		if err != nil {
			return c, fmt.Errorf("read %s: %w", passFlag, err)
		}
		c.Passphrase = []byte(strings.TrimRight(string(data), "\r\n"))
	default:
		c.Passphrase = []byte(getenv("CAIRN_PASSPHRASE"))
	}
	return c, nil
}

// location is where the repository is.
func (f *repoFlags) location() usecase.Location {
	return usecase.Location{URL: f.storage, Getenv: f.getenv}
}

// open unlocks the repository.
func (f *repoFlags) open(ctx context.Context) (*archive.Repository, error) {
	cred, err := f.credential()
	if err != nil {
		return nil, err
	}
	repo, err := usecase.OpenRepository(ctx, f.location(), cred, usecase.OpenOptions{})
	if err != nil {
		return nil, explainOpenError(err)
	}
	return repo, nil
}

// ref is the repository for a backup or a restore; a backup initialises it when the storage
// holds none, and says so on notify.
func (f *repoFlags) ref(notify io.Writer) usecase.RepositoryRef {
	return usecase.RepositoryRef{Location: f.location(), Credential: f.credential, Explain: explainOpenError, Encrypt: f.encrypt,
		Initialised: f.initialised(notify)}
}

// openOrInit unlocks the repository, initialising it (and saying so on notify) when the storage
// holds none.
func (f *repoFlags) openOrInit(ctx context.Context, notify io.Writer) (*archive.Repository, error) {
	cred, err := f.credential()
	if err != nil {
		return nil, err
	}
	repo, err := usecase.OpenRepository(ctx, f.location(), cred, usecase.OpenOptions{Create: true, Encrypt: f.encrypt, Initialised: f.initialised(notify)})
	if err != nil {
		return nil, explainOpenError(err)
	}
	return repo, nil
}

func (f *repoFlags) initialised(notify io.Writer) func(blob.Storage) {
	return func(st blob.Storage) {
		enc := "encrypted with AES-256-GCM"
		if !f.encrypt {
			enc = "not encrypted, authenticated"
		}
		fmt.Fprintf(notify, "initialised a new repository at %s (%s); keep its passphrase or key file safe: without it no backup can be read\n", st, enc)
	}
}

// unlockedWith says what unlocks the repository, for a restore's storage check.
func (f *repoFlags) unlockedWith() string {
	switch {
	case f.keyFile != "":
		return "the key of --key-file " + f.keyFile
	case f.passphraseFile != "":
		return "the passphrase of --passphrase-file " + f.passphraseFile
	}
	return "the passphrase in CAIRN_PASSPHRASE"
}

// explainOpenError words an error of opening the repository as the command line always has: the
// storage's or the format's own error, with the flags to check when the key does not unlock it.
func explainOpenError(err error) error {
	var se *usecase.StorageError
	if errors.As(err, &se) {
		return se.Err
	}
	var re *usecase.RepositoryError
	switch {
	case !errors.As(err, &re):
		return err
	case errors.Is(re.Err, archive.ErrWrongKey):
		return fmt.Errorf("%w at %s: check CAIRN_PASSPHRASE, --passphrase-file or --key-file", re.Err, re.Storage)
	}
	return re.Err
}
