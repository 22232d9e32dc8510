package store

import (
	"encoding/base64"
	"fmt"
	"strconv"
)

// List is one page of a list. Next, when set, is the cursor of the following page.
type List[T any] struct {
	Items []T
	Next  string
}

// Page asks for one page of a list, newest first.
type Page struct {
	Limit  int    // default 100, at most 1000
	Cursor string // from the previous page's Next
}

// limit is the page's size: 100 unless asked, at most 1000.
func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > 1000:
		return 1000
	}
	return p.Limit
}

func (p Page) bounds() (limit int, before int64, err error) {
	limit = p.limit()
	before = int64(1) << 62
	if p.Cursor != "" {
		before, err = strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || before <= 0 {
			return 0, 0, fmt.Errorf("cursor: %q is not a cursor this vault gave out: %w", p.Cursor, ErrInvalid)
		}
	}
	return limit, before, nil
}

// next is the cursor after a page whose last row had key last, if the page was full.
func next(n, limit int, last int64) string {
	if n < limit {
		return ""
	}
	return strconv.FormatInt(last, 10)
}

// afterName is the name a page of a list ordered by name starts after ("" for the first page).
func (p Page) afterName() (string, error) {
	if p.Cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil || len(b) == 0 {
		return "", fmt.Errorf("cursor: %q is not a cursor this vault gave out: %w", p.Cursor, ErrInvalid)
	}
	return string(b), nil
}

// nextName is the cursor after a page of a list ordered by name whose last row is last, if the
// page was full.
func nextName(n, limit int, last string) string {
	if n < limit {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(last))
}
