package usecase

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

func TestOpenRepositoryCreates(t *testing.T) {
	ctx := t.Context()
	st := memory.New()
	var initialised []string
	opts := OpenOptions{Create: true, Encrypt: true, Now: func() time.Time { return testClock },
		Initialised: func(s blob.Storage) { initialised = append(initialised, s.String()) }}
	repo, err := openRepository(ctx, opener(st), Location{URL: "mem://"}, testKey, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !repo.Encrypted() || !repo.Config().CreatedAt.Equal(testClock) || len(initialised) != 1 || initialised[0] != "mem://" {
		t.Errorf("new repository: encrypted %v, created %s, initialised %q", repo.Encrypted(), repo.Config().CreatedAt, initialised)
	}
	again, err := openRepository(ctx, opener(st), Location{URL: "mem://"}, testKey, opts)
	if err != nil || again.Config().ID != repo.Config().ID || len(initialised) != 1 {
		t.Errorf("second open: %v, %d initialisations", err, len(initialised))
	}

	plain, err := openRepository(ctx, opener(memory.New()), Location{}, testKey, OpenOptions{Create: true})
	if err != nil || plain.Encrypted() {
		t.Errorf("unencrypted repository: %v", err)
	}
}

func TestOpenRepositoryErrors(t *testing.T) {
	ctx := t.Context()
	st := memory.New()
	_, err := openRepository(ctx, opener(st), Location{}, testKey, OpenOptions{})
	var re *RepositoryError
	if !errors.As(err, &re) || !errors.Is(err, archive.ErrNoRepository) || re.Storage != "mem://" {
		t.Errorf("without a repository and without create: %v", err)
	}
	if _, err := archive.Init(ctx, st, testKey, archive.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = openRepository(ctx, opener(st), Location{}, wrongKey, OpenOptions{Create: true})
	if !errors.As(err, &re) || !errors.Is(err, archive.ErrWrongKey) || err.Error() != "open the repository at mem://: "+archive.ErrWrongKey.Error() {
		t.Errorf("wrong key: %v", err)
	}

	_, err = OpenRepository(ctx, Location{URL: "nope://x"}, testKey, OpenOptions{})
	var se *StorageError
	if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), "open storage: ") {
		t.Errorf("unknown scheme: %v", err)
	}
}

// TestOpenRepositoryRace is two processes initialising one storage at once: the one that loses
// opens the repository the other one made.
func TestOpenRepositoryRace(t *testing.T) {
	ctx := t.Context()
	st := &initialisedMeanwhile{Storage: memory.New()}
	initialised := false
	repo, err := openRepository(ctx, opener(st), Location{}, testKey,
		OpenOptions{Create: true, Initialised: func(blob.Storage) { initialised = true }})
	if err != nil {
		t.Fatal(err)
	}
	if st.other == nil || repo.Config().ID != st.other.Config().ID || initialised {
		t.Errorf("opened repository %s, the other process made %v; initialised %v", repo.Config().ID, st.other, initialised)
	}
}

// initialisedMeanwhile is a storage in which another process initialises a repository just
// before the first write.
type initialisedMeanwhile struct {
	blob.Storage
	once  sync.Once
	other *archive.Repository
}

func (s *initialisedMeanwhile) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	var err error
	s.once.Do(func() { s.other, err = archive.Init(ctx, s.Storage, testKey, archive.InitOptions{}) })
	if err != nil {
		return err
	}
	return s.Storage.Put(ctx, key, r, opts)
}

func TestOpenRepositoryFromURL(t *testing.T) {
	loc := Location{URL: "file://" + t.TempDir()}
	if _, err := OpenRepository(t.Context(), loc, testKey, OpenOptions{Create: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRepository(t.Context(), loc, testKey, OpenOptions{}); err != nil {
		t.Errorf("reopen: %v", err)
	}
}
