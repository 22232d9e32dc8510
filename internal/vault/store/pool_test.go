package store

import "testing"

// TestReadPoolIsBounded: the connections the store reads through are capped on both backends.
func TestReadPoolIsBounded(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		if n := st.db.Stats().MaxOpenConnections; n != maxReadConns {
			t.Errorf("read pool of %d connections (0: unbounded), want %d", n, maxReadConns)
		}
	})
}
