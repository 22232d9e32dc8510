package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"k8s.io/client-go/rest"
)

// lister fetches raw JSON pages of a resource: the bytes the apiserver sends go to storage as they
// are, with no decode into maps and encode back, which is what keeps a backup close to the speed
// of a plain LIST.
type lister struct {
	client   rest.Interface // an unversioned client; paths are absolute
	pageSize int64
}

// listPage is the part of a list response the backup reads.
type listPage struct {
	Metadata struct {
		Continue string `json:"continue"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// resourcePath returns the collection path of r, in namespace ns or across the cluster ("").
func resourcePath(r resource, ns string) string {
	var p string
	if r.gvr.Group == "" {
		p = "/api/" + r.gvr.Version
	} else {
		p = "/apis/" + r.gvr.Group + "/" + r.gvr.Version
	}
	if ns != "" {
		p += "/namespaces/" + ns
	}
	return p + "/" + r.gvr.Resource
}

// each lists r page by page and calls fn with each item's raw JSON. The next page is fetched while
// fn works through the current one, so decoding, compressing and storing overlap the apiserver's
// work instead of adding to it.
func (l *lister) each(ctx context.Context, r resource, ns, labelSelector string, fn func(item []byte) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan listPage, 1)
	fetchErr := make(chan error, 1)
	go func() {
		defer close(pages)
		fetchErr <- l.fetch(ctx, r, ns, labelSelector, pages)
	}()
	for page := range pages {
		for _, it := range page.Items {
			if err := fn(it); err != nil {
				cancel()
				for range pages { // let the fetcher finish
				}
				return err
			}
		}
	}
	return <-fetchErr
}

func (l *lister) fetch(ctx context.Context, r resource, ns, labelSelector string, pages chan<- listPage) error {
	cont := ""
	for {
		req := l.client.Get().AbsPath(resourcePath(r, ns)).Param("limit", strconv.FormatInt(l.pageSize, 10))
		if cont != "" {
			req = req.Param("continue", cont)
		}
		if labelSelector != "" {
			req = req.Param("labelSelector", labelSelector)
		}
		body, err := req.DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", r.groupResource(), err)
		}
		var page listPage
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("list %s: decode page: %w", r.groupResource(), err)
		}
		select {
		case pages <- page:
		case <-ctx.Done():
			return ctx.Err()
		}
		if page.Metadata.Continue == "" {
			return nil
		}
		cont = page.Metadata.Continue
	}
}

// get fetches one cluster-scoped object by name.
func (l *lister) get(ctx context.Context, r resource, name string) ([]byte, error) {
	return l.client.Get().AbsPath(resourcePath(r, ""), name).DoRaw(ctx)
}

// itemHead is the part of an item the backup decides on.
type itemHead struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
}

func parseHead(item []byte) (itemHead, error) {
	var h itemHead
	if err := json.Unmarshal(item, &h); err != nil {
		return h, fmt.Errorf("decode item: %w", err)
	}
	return h, nil
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
