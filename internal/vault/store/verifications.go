package store

import (
	"context"
	"strings"

	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// LatestVerifications returns, for each of the named recovery points of the vault that has any,
// its newest verify job (docs/design/monitoring.md, "Verification"), found through the index on
// jobs' recovery point.
func (s *Store) LatestVerifications(ctx context.Context, vault string, names []string) (map[string]jobs.Record, error) {
	return s.latestJobsBy(ctx, vault, jobs.KindVerify, "recovery_point", names)
}

// qualified prefixes each of a list of columns with the table alias.
func qualified(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, col := range cols {
		cols[i] = alias + "." + strings.TrimSpace(col)
	}
	return strings.Join(cols, ", ")
}
