package backup

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// TestListerListsAtOneResourceVersion: the first page of every list asks for the exact
// resourceVersion, the next pages only follow their continue token; a resource whose version is
// gone (410) or whose API answers at another version is listed at the current state and
// reported; objects fetched by name are lists with a name field selector at that version.
func TestListerListsAtOneResourceVersion(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		asked = append(asked, r.URL.Path+"?"+describeQuery(q))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		exact := q.Get("resourceVersionMatch") == "Exact"
		switch {
		case strings.HasSuffix(r.URL.Path, "/gone") && exact:
			w.WriteHeader(http.StatusGone)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,"message":"too old resource version: 7 (9)"}`)
		case strings.HasSuffix(r.URL.Path, "/aggregated"):
			fmt.Fprint(w, `{"metadata":{"resourceVersion":""},"items":[{"metadata":{"name":"m"}}]}`)
		case strings.HasSuffix(r.URL.Path, "/paged") && q.Get("continue") == "":
			fmt.Fprint(w, `{"metadata":{"resourceVersion":"7","continue":"next"},"items":[{"metadata":{"name":"a"}}]}`)
		case q.Get("fieldSelector") == "metadata.name=missing":
			fmt.Fprint(w, `{"metadata":{"resourceVersion":"7"},"items":[]}`)
		default:
			fmt.Fprint(w, `{"metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"b"}}]}`)
		}
	}))
	defer srv.Close()
	client, err := rest.UnversionedRESTClientFor(withDefaults(&rest.Config{Host: srv.URL}))
	if err != nil {
		t.Fatal(err)
	}
	others := map[string]string{}
	l := &lister{client: client, pageSize: 2, at: "7", elsewhere: func(r resource, reason string) { others[r.groupResource()] = reason }}
	res := func(name string) resource {
		return resource{gvr: schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: name}, kind: "X"}
	}
	names := func(r resource) []string {
		var out []string
		if err := l.each(t.Context(), r, "", "", func(_ []byte, h itemHead) error {
			out = append(out, h.Metadata.Name)
			return nil
		}); err != nil {
			t.Fatalf("list %s: %v", r.groupResource(), err)
		}
		return out
	}
	if got := names(res("paged")); strings.Join(got, ",") != "a,b" {
		t.Errorf("paged: %v", got)
	}
	if got := names(res("gone")); strings.Join(got, ",") != "b" {
		t.Errorf("gone: %v", got)
	}
	if got := names(res("aggregated")); strings.Join(got, ",") != "m" {
		t.Errorf("aggregated: %v", got)
	}
	if _, h, err := l.get(t.Context(), res("things"), "b"); err != nil || h.Metadata.Name != "b" {
		t.Errorf("get b: %+v, %v", h, err)
	}
	if _, _, err := l.get(t.Context(), res("things"), "missing"); !apierrors.IsNotFound(err) {
		t.Errorf("get missing: %v, want NotFound", err)
	}

	want := []string{
		"/apis/example.com/v1/paged?limit=2 resourceVersion=7 resourceVersionMatch=Exact",
		"/apis/example.com/v1/paged?continue=next limit=2",
		"/apis/example.com/v1/gone?limit=2 resourceVersion=7 resourceVersionMatch=Exact",
		"/apis/example.com/v1/gone?limit=2",
		"/apis/example.com/v1/aggregated?limit=2 resourceVersion=7 resourceVersionMatch=Exact",
		"/apis/example.com/v1/things?fieldSelector=metadata.name=b limit=2 resourceVersion=7 resourceVersionMatch=Exact",
		"/apis/example.com/v1/things?fieldSelector=metadata.name=missing limit=2 resourceVersion=7 resourceVersionMatch=Exact",
	}
	if strings.Join(asked, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(asked, "\n"), strings.Join(want, "\n"))
	}
	if len(others) != 2 || !strings.Contains(others["gone.example.com"], "not listable at resourceVersion 7") ||
		!strings.Contains(others["aggregated.example.com"], `answered at resourceVersion "", not at 7`) {
		t.Errorf("captured elsewhere: %v", others)
	}
}

// describeQuery is a query's parameters, sorted, space-separated, unescaped.
func describeQuery(q url.Values) string {
	s, _ := url.QueryUnescape(strings.ReplaceAll(q.Encode(), "&", " "))
	return s
}
