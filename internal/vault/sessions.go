package vault

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/store"
	"github.com/cairnbackup/cairn/internal/vault/ui"
)

// Sessions keeps the Backup center's sessions in the vault's database, where every replica finds
// them.
func Sessions(st *store.Store) ui.SessionStore { return sessionStore{st} }

type sessionStore struct{ st *store.Store }

func (s sessionStore) CreateSession(ctx context.Context, ss ui.StoredSession) error {
	return s.st.CreateSession(ctx, store.Session(ss))
}

func (s sessionStore) GetSession(ctx context.Context, id string) (ui.StoredSession, bool, error) {
	ss, err := s.st.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ui.StoredSession{}, false, nil
	}
	if err != nil {
		return ui.StoredSession{}, false, err
	}
	return ui.StoredSession(ss), true, nil
}

func (s sessionStore) UpdateSession(ctx context.Context, ss ui.StoredSession) error {
	return s.st.UpdateSession(ctx, store.Session(ss))
}

func (s sessionStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	return s.st.TouchSession(ctx, id, at)
}

func (s sessionStore) DeleteSession(ctx context.Context, id string) error {
	return s.st.DeleteSession(ctx, id)
}

func (s sessionStore) PruneSessions(ctx context.Context, before time.Time) error {
	_, err := s.st.PruneSessions(ctx, before)
	return err
}

// pendingSignInKey is the name of the key that seals single sign-ons in progress.
const pendingSignInKey = "sso-pending"

// sharedKey returns the 32-byte key of that name every replica shares, made by the first.
func sharedKey(ctx context.Context, st *store.Store, name string) ([]byte, error) {
	text, err := st.ServerKey(ctx, name, func() (string, error) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(key), nil
	})
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("the database's %s key is damaged: delete its row from server_keys to make a new one: %w", name, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("the database's %s key has %d bytes, not 32: delete its row from server_keys to make a new one", name, len(key))
	}
	return key, nil
}
