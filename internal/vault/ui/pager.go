package ui

import (
	"net/http"
	"net/url"
)

// pageSize is how many rows a list page shows.
const pageSize = 50

// pager links a list page to the next one and back to the first, keeping the filters.
type pager struct {
	Cursor string // this page's cursor; empty on the first
	Next   string // the next page's URL, or empty on the last
	First  string // the first page's URL
}

func newPager(r *http.Request, next string) pager {
	q := r.URL.Query()
	p := pager{Cursor: q.Get("cursor")}
	q.Del("cursor")
	p.First = pageURL(r.URL.Path, q)
	if next != "" {
		q.Set("cursor", next)
		p.Next = pageURL(r.URL.Path, q)
	}
	return p
}

func pageURL(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
