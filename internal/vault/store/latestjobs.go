package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// latestPerQuery bounds the keys one query of latestJobsBy asks for (SQLite's and PostgreSQL's
// parameter limits are far above it).
const latestPerQuery = 500

// latestJobsBy returns, for each of keys that has any, the vault's newest job of the kind whose
// column (instance or recovery_point) is that key: a query per 500 keys.
func (s *Store) latestJobsBy(ctx context.Context, vault string, kind jobs.Kind, column string, keys []string) (map[string]jobs.Record, error) {
	if column != "instance" && column != "recovery_point" {
		return nil, fmt.Errorf("latest jobs by %q: not a key column", column)
	}
	out := map[string]jobs.Record{}
	for start := 0; start < len(keys); start += latestPerQuery {
		batch := keys[start:min(len(keys), start+latestPerQuery)]
		var c conditions
		c.add("j.vault = ?", vault)
		c.add("j.kind = ?", string(kind))
		in := make([]string, len(batch))
		for i, k := range batch {
			in[i] = c.param(k)
		}
		c.terms = append(c.terms, "j."+column+" IN ("+strings.Join(in, ", ")+")",
			`j.id = (SELECT MAX(k.id) FROM jobs k WHERE k.vault = j.vault AND k.`+column+` = j.`+column+` AND k.kind = j.kind)`)
		rows, err := s.db.QueryContext(ctx, `SELECT `+qualified("j", jobColumns)+` FROM jobs j WHERE `+c.where(), c.args...)
		if err != nil {
			return nil, fmt.Errorf("read the newest %s jobs: %w", kind, err)
		}
		for rows.Next() {
			r, err := scanJob(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			if column == "instance" {
				out[r.Instance] = r
			} else {
				out[r.RecoveryPoint] = r
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read the newest %s jobs: %w", kind, err)
		}
	}
	return out, nil
}

// LatestValidations returns, for each of the named instances of the vault that has any, its
// newest validate job.
func (s *Store) LatestValidations(ctx context.Context, vault string, instances []string) (map[string]jobs.Record, error) {
	return s.latestJobsBy(ctx, vault, jobs.KindValidate, "instance", instances)
}

// LatestTestRestores returns, for each of the named instances of the vault that has any, its
// newest test-restore job.
func (s *Store) LatestTestRestores(ctx context.Context, vault string, instances []string) (map[string]jobs.Record, error) {
	return s.latestJobsBy(ctx, vault, jobs.KindTestRestore, "instance", instances)
}
