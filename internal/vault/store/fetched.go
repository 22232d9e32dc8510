package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// FetchedPartBytes is the most a part of a fetched file holds.
const FetchedPartBytes = 1 << 20

// PutFetchedPart stores part n of job id's file. Parts are written one statement each, so an
// upload never holds the database's write lock for long.
func (s *Store) PutFetchedPart(ctx context.Context, vault string, id int64, n int, data []byte, at time.Time) error {
	if _, err := s.writes.ExecContext(ctx, `INSERT INTO fetched_file_parts (vault, job_id, part, data, written_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (vault, job_id, part) DO UPDATE SET data = excluded.data, written_at = excluded.written_at`,
		vault, id, n, data, at.UTC()); err != nil {
		return fmt.Errorf("store part %d of the file of job %d: %w", n, id, err)
	}
	return nil
}

// FinishFetchedFile records job id's file whole: size bytes in parts parts, uploaded at at.
func (s *Store) FinishFetchedFile(ctx context.Context, vault string, id, size int64, parts int, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Parts past the end are a longer earlier upload's.
		if _, err := tx.ExecContext(ctx, `DELETE FROM fetched_file_parts WHERE vault = $1 AND job_id = $2 AND part >= $3`, vault, id, parts); err != nil {
			return fmt.Errorf("store the file of job %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO fetched_files (vault, job_id, size, parts, uploaded_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (vault, job_id) DO UPDATE SET size = excluded.size, parts = excluded.parts, uploaded_at = excluded.uploaded_at`,
			vault, id, size, parts, at.UTC()); err != nil {
			return fmt.Errorf("store the file of job %d: %w", id, err)
		}
		return nil
	})
}

// DiscardFetchedFile deletes job id's file and its parts, whole or not.
func (s *Store) DiscardFetchedFile(ctx context.Context, vault string, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"fetched_files", "fetched_file_parts"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE vault = $1 AND job_id = $2`, vault, id); err != nil {
				return fmt.Errorf("delete the file of job %d: %w", id, err)
			}
		}
		return nil
	})
}

// TakeFetchedFile takes job id's whole file for its one download, uploaded at or after since:
// the file is no longer there for another. ok is false when there is none (never uploaded,
// taken already, or older than since).
func (s *Store) TakeFetchedFile(ctx context.Context, vault string, id int64, since time.Time) (size int64, parts int, ok bool, err error) {
	err = s.writes.QueryRowContext(ctx, `DELETE FROM fetched_files WHERE vault = $1 AND job_id = $2 AND uploaded_at >= $3 RETURNING size, parts`,
		vault, id, since.UTC()).Scan(&size, &parts)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("take the file of job %d: %w", id, err)
	}
	return size, parts, true, nil
}

// FetchedPart reads part n of job id's file.
func (s *Store) FetchedPart(ctx context.Context, vault string, id int64, n int) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM fetched_file_parts WHERE vault = $1 AND job_id = $2 AND part = $3`, vault, id, n).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("part %d of the file of job %d: %w", n, id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read part %d of the file of job %d: %w", n, id, err)
	}
	return data, nil
}

// SweepFetchedFiles deletes the files uploaded before before, and the parts written before it
// that no file holds (uploads cut short, files taken). It returns how many files it deleted.
func (s *Store) SweepFetchedFiles(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM fetched_files WHERE uploaded_at < $1`, before.UTC())
		if err != nil {
			return fmt.Errorf("delete expired fetched files: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("delete expired fetched files: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM fetched_file_parts WHERE written_at < $1 AND NOT EXISTS (
			SELECT 1 FROM fetched_files f WHERE f.vault = fetched_file_parts.vault AND f.job_id = fetched_file_parts.job_id)`, before.UTC()); err != nil {
			return fmt.Errorf("delete expired fetched files: %w", err)
		}
		return nil
	})
	return n, err
}
