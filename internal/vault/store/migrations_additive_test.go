package store

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

// firstMigrationAfterReplicas is the first migration made after a release that ran as replicas:
// from it on, a replica of the previous release keeps running on the migrated database during a
// rolling upgrade (docs/design/vault.md, "Rolling upgrades"), so a migration only adds.
const firstMigrationAfterReplicas = "0021"

// subtractive are the statements a replica of the previous release could trip on: dropping or
// renaming what it reads, or changing a column's type.
var subtractive = regexp.MustCompile(`(?i)\bDROP\s+(TABLE|COLUMN|INDEX|VIEW|CONSTRAINT)\b|\bRENAME\b|\bALTER\s+COLUMN\b`)

// addClause starts what a statement adds; a new NOT NULL column needs a DEFAULT, which fills it
// in the previous release's INSERTs.
var addClause = regexp.MustCompile(`(?i)\bADD\s+`)

func TestMigrationsSinceReplicasOnlyAdd(t *testing.T) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if path.Base(name) < firstMigrationAfterReplicas {
			continue
		}
		data, err := fs.ReadFile(migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range strings.Split(withoutComments(string(data)), ";") {
			stmt = strings.Join(strings.Fields(stmt), " ")
			if subtractive.MatchString(stmt) {
				t.Errorf("%s: %q takes away what a replica of the previous release reads: add instead, and remove a release later", name, stmt)
			}
			for _, col := range addClause.Split(stmt, -1)[1:] {
				col, _, _ = strings.Cut(col, ",")
				upper := strings.ToUpper(col)
				if strings.Contains(upper, "NOT NULL") && !strings.Contains(upper, "DEFAULT") {
					t.Errorf("%s: %q: a new NOT NULL column needs a DEFAULT, or the previous release's INSERTs fail", name, col)
				}
			}
		}
	}
}

// withoutComments drops the SQL line comments.
func withoutComments(sql string) string {
	var b strings.Builder
	for line := range strings.Lines(sql) {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i] + "\n"
		}
		b.WriteString(line)
	}
	return b.String()
}
