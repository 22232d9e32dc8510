package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/kube"
)

// lister fetches raw JSON pages of a resource: the bytes the apiserver sends go to storage as they
// are, with no decode into maps and encode back, which is what keeps a backup close to the speed
// of a plain LIST.
type lister struct {
	client   rest.Interface // an unversioned client; paths are absolute
	pageSize int64
	// at, when set, is the resourceVersion every list is served at (resourceVersionMatch=Exact:
	// docs/design/format.md, 4.3.3).
	at string
	// elsewhere is told of each resource that could not be listed at `at`, and was listed at the
	// current state instead.
	elsewhere func(r resource, reason string)
}

// Page sizes: a list asks for pageSize items, fewer when items are large, so that a page stays
// near pageTargetBytes (each resource type listed at once holds two: the one worked through and
// the next).
const (
	pageTargetBytes = 2 << 20
	minPageSize     = 20
)

// nextLimit is the item count to ask for after a page of n items in size bytes, at most ceiling.
func nextLimit(ceiling int64, n, size int) int64 {
	if n == 0 {
		return ceiling
	}
	perItem := max(int64(size)/int64(n), 1)
	return min(ceiling, max(minPageSize, pageTargetBytes/perItem))
}

// currentVersion reads the cluster's resourceVersion now: that of a consistent list of one
// namespace, which every later list can be served at.
func (l *lister) currentVersion(ctx context.Context) (string, error) {
	body, err := l.client.Get().AbsPath("/api/v1/namespaces").Param("limit", "1").DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("read the cluster's resourceVersion: %w", err)
	}
	page, err := scanPage(body)
	if err != nil {
		return "", fmt.Errorf("read the cluster's resourceVersion: %w", err)
	}
	if page.resourceVersion == "" {
		return "", errors.New("read the cluster's resourceVersion: the namespace list carries none")
	}
	return page.resourceVersion, nil
}

// each lists r page by page and calls fn with each item's raw JSON and head. The next page is fetched while
// fn works through the current one, so decoding, compressing and storing overlap the apiserver's
// work instead of adding to it.
func (l *lister) each(ctx context.Context, r resource, ns, labelSelector string, fn func(item []byte, h itemHead) error) error {
	return l.list(ctx, r, ns, selectors{label: labelSelector}, fn)
}

// selectors narrow a list on the server.
type selectors struct{ label, field string }

func (l *lister) list(ctx context.Context, r resource, ns string, sel selectors, fn func(item []byte, h itemHead) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan listPage) // one page fetched ahead, not more: a page can be megabytes
	fetchErr := make(chan error, 1)
	go func() {
		defer close(pages)
		fetchErr <- l.fetch(ctx, r, ns, sel, pages)
	}()
	for page := range pages {
		for _, it := range page.items {
			if err := fn(it.raw, it.head); err != nil {
				cancel()
				for range pages { // let the fetcher finish
				}
				return err
			}
		}
	}
	return <-fetchErr
}

func (l *lister) fetch(ctx context.Context, r resource, ns string, sel selectors, pages chan<- listPage) error {
	at, cont, limit := l.at, "", l.pageSize
	for {
		req := l.client.Get().AbsPath(kube.CollectionPath(r.gvr, ns)).Param("limit", strconv.FormatInt(limit, 10))
		switch {
		case cont != "":
			req = req.Param("continue", cont) // the token keeps the first page's resourceVersion
		case at != "":
			req = req.Param("resourceVersion", at).Param("resourceVersionMatch", "Exact")
		}
		if sel.label != "" {
			req = req.Param("labelSelector", sel.label)
		}
		if sel.field != "" {
			req = req.Param("fieldSelector", sel.field)
		}
		body, err := req.DoRaw(ctx)
		if err != nil && at != "" && cont == "" && notServedAt(err) {
			l.elsewhere(r, fmt.Sprintf("not listable at resourceVersion %s (%v): listed at the current state", at, err))
			at = ""
			continue
		}
		if err != nil {
			return fmt.Errorf("list %s: %w", r.groupResource(), err)
		}
		page, err := scanPage(body)
		if err != nil {
			return fmt.Errorf("list %s: decode page: %w", r.groupResource(), err)
		}
		if at != "" && cont == "" && page.resourceVersion != at {
			l.elsewhere(r, fmt.Sprintf("its API answered at resourceVersion %q, not at %s", page.resourceVersion, at))
		}
		limit = nextLimit(l.pageSize, len(page.items), len(body))
		select {
		case pages <- page:
		case <-ctx.Done():
			return ctx.Err()
		}
		if page.continueToken == "" {
			return nil
		}
		cont = page.continueToken
	}
}

// notServedAt tells whether a list refused at an exact resourceVersion may succeed at the current
// state: the version was compacted away (410), or the API cannot list at one (400, 422, 405).
func notServedAt(err error) bool {
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || apierrors.IsBadRequest(err) || apierrors.IsInvalid(err) ||
		apierrors.IsMethodNotSupported(err)
}

// get fetches one cluster-scoped object by name, as a list with a name field selector so that it
// is served at the backup's resourceVersion too; a NotFound error when there is none.
func (l *lister) get(ctx context.Context, r resource, name string) ([]byte, itemHead, error) {
	var found []byte
	var head itemHead
	err := l.list(ctx, r, "", selectors{field: "metadata.name=" + name}, func(item []byte, h itemHead) error {
		found, head = item, h
		return nil
	})
	if err != nil {
		return nil, head, err
	}
	if found == nil {
		return nil, head, apierrors.NewNotFound(schema.GroupResource{Group: r.gvr.Group, Resource: r.gvr.Resource}, name)
	}
	return found, head, nil
}

// withTypeMeta returns item as compact JSON that carries its apiVersion and kind: list items of
// built-in types come without them.
func withTypeMeta(item []byte, h itemHead, apiVersion, kind string) ([]byte, error) {
	if bytes.ContainsAny(item, "\n\r") {
		var buf bytes.Buffer
		if err := json.Compact(&buf, item); err != nil {
			return nil, fmt.Errorf("compact item: %w", err)
		}
		item = buf.Bytes()
	}
	if h.APIVersion != "" && h.Kind != "" {
		return item, nil
	}
	if h.APIVersion != "" || h.Kind != "" {
		return nil, fmt.Errorf("item %s has only half of apiVersion and kind", h.Metadata.Name)
	}
	if len(item) < 2 || item[0] != '{' {
		return nil, fmt.Errorf("item is not a JSON object")
	}
	prefix := fmt.Sprintf(`{"apiVersion":%q,"kind":%q`, apiVersion, kind)
	out := make([]byte, 0, len(prefix)+len(item)+1)
	out = append(out, prefix...)
	rest := bytes.TrimLeft(item[1:], " \t")
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}
