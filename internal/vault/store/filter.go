package store

import (
	"strconv"
	"strings"
)

// conditions builds the WHERE clause of a list query from the filters actually given, numbering
// their parameters $1, $2, ... A query holds only the conditions it needs, so that its plan can
// use the index that fits: a catch-all condition (instance = $2, or $2 empty) keeps SQLite, and
// PostgreSQL's generic plans, from using an index on instance at all.
type conditions struct {
	terms []string
	args  []any
}

// add appends term, in which ? stands for arg's parameter.
func (c *conditions) add(term string, arg any) {
	c.terms = append(c.terms, strings.Replace(term, "?", c.param(arg), 1))
}

// addIf appends term if value is not empty.
func (c *conditions) addIf(term, value string) {
	if value != "" {
		c.add(term, value)
	}
}

// param adds arg and returns its placeholder, for a parameter outside the WHERE clause (LIMIT).
func (c *conditions) param(arg any) string {
	c.args = append(c.args, arg)
	return "$" + strconv.Itoa(len(c.args))
}

func (c *conditions) where() string { return strings.Join(c.terms, " AND ") }
