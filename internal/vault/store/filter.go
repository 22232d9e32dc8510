package store

import (
	"strconv"
	"strings"
)

// params are a statement's arguments in order: param adds one and returns its placeholder, mark(n)
// for the n-th ($n when mark is nil, which both databases read; dialect.param where a statement's
// many parameters must cost SQLite nothing to look up).
type params struct {
	args []any
	mark func(n int) string
}

// param adds arg and returns its placeholder.
func (p *params) param(arg any) string {
	p.args = append(p.args, arg)
	if p.mark == nil {
		return "$" + strconv.Itoa(len(p.args))
	}
	return p.mark(len(p.args))
}

// list adds each of values and returns their placeholders, for an IN list.
func (p *params) list(values []string) string {
	marks := make([]string, len(values))
	for i, v := range values {
		marks[i] = p.param(v)
	}
	return strings.Join(marks, ", ")
}

// conditions builds the WHERE clause of a list query from the filters actually given, numbering
// their parameters $1, $2, ... A query holds only the conditions it needs, so that its plan can
// use the index that fits: a catch-all condition (instance = $2, or $2 empty) keeps SQLite, and
// PostgreSQL's generic plans, from using an index on instance at all. Its param adds a parameter
// outside the WHERE clause (LIMIT).
type conditions struct {
	terms []string
	params
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

func (c *conditions) where() string { return strings.Join(c.terms, " AND ") }
