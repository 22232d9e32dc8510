//go:build integration

package azure_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// Azurite has no immutability policies: containers report no version-level immutability
// support and the policy calls answer 501. So a Put with a retention period must fail there,
// and the paths of the real service are exercised through lockProxy, which plays the parts
// Azurite lacks.
func TestRetentionAzurite(t *testing.T) {
	srv := testenv.StartAzurite(t)

	t.Run("Unsupported", func(t *testing.T) {
		name := newContainer(t, srv)
		s := open(t, keyConfig(srv, name, "p"))
		for _, opts := range []blob.PutOptions{
			{RetainUntil: time.Now().Add(time.Hour)},
			{RetainUntil: time.Now().Add(time.Hour), IfNotExists: true},
		} {
			err := s.Put(t.Context(), "k", strings.NewReader("x"), opts)
			if !errors.Is(err, blob.ErrRetentionUnsupported) {
				t.Fatalf("Put(%+v) error = %v, want ErrRetentionUnsupported", opts, err)
			}
			if msg := err.Error(); !strings.Contains(msg, name) || !strings.Contains(msg, "version-level immutability") || blob.IsRetryable(err) {
				t.Errorf("error %q should name the container and say to enable version-level immutability", msg)
			}
		}
		if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("refused Put left a blob: Stat error = %v", err)
		}
		putString(t, s, "plain", "x")
		if until, err := s.Retention(t.Context(), "plain"); err != nil || !until.IsZero() {
			t.Errorf("Retention(plain) = %v, %v, want the zero time", until, err)
		}
		if err := s.ExtendRetention(t.Context(), "plain", time.Now().Add(time.Hour)); !errors.Is(err, blob.ErrRetentionUnsupported) {
			t.Errorf("ExtendRetention(plain) error = %v, want ErrRetentionUnsupported", err)
		}
	})

	t.Run("ConformanceClaimingSupport", func(t *testing.T) {
		// Every overwrite and delete is looked at first.
		blobtest.Run(t, func(t *testing.T) blob.Storage {
			p := newLockProxy(t, srv, proxyOptions{})
			return open(t, keyConfig(p.server(), newContainer(t, srv), "c"))
		})
	})

	t.Run("PolicyRefused", func(t *testing.T) {
		p := newLockProxy(t, srv, proxyOptions{})
		s := open(t, keyConfig(p.server(), newContainer(t, srv), ""))
		err := s.Put(t.Context(), "k", strings.NewReader("x"), blob.PutOptions{RetainUntil: time.Now().Add(time.Hour)})
		if !errors.Is(err, blob.ErrRetentionUnsupported) || !strings.Contains(err.Error(), "501") {
			t.Fatalf("Put error = %v, want ErrRetentionUnsupported with Azurite's 501", err)
		}
		if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("the blob that could not be locked was not deleted: Stat error = %v", err)
		}
	})

	t.Run("PolicyIgnored", func(t *testing.T) {
		p := newLockProxy(t, srv, proxyOptions{ignorePolicy: true})
		s := open(t, keyConfig(p.server(), newContainer(t, srv), ""))
		err := s.Put(t.Context(), "k", strings.NewReader("x"), blob.PutOptions{RetainUntil: time.Now().Add(time.Hour), IfNotExists: true})
		if !errors.Is(err, blob.ErrRetentionUnsupported) || !strings.Contains(err.Error(), "did not confirm") {
			t.Fatalf("Put error = %v, want ErrRetentionUnsupported saying the policy was not confirmed", err)
		}
		if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("the blob that could not be locked was not deleted: Stat error = %v", err)
		}
	})

	t.Run("LockedBlob", func(t *testing.T) {
		p := newLockProxy(t, srv, proxyOptions{})
		s := open(t, keyConfig(p.server(), newContainer(t, srv), "pre"))
		putString(t, s, "k", "original")
		until := time.Now().Add(time.Hour).Truncate(time.Second)
		p.setPolicy("pre/k", until)
		ctx := t.Context()
		if err := s.Delete(ctx, "k"); !errors.Is(err, blob.ErrLocked) {
			t.Errorf("Delete of a blob under a policy error = %v, want ErrLocked", err)
		}
		if err := s.Put(ctx, "k", strings.NewReader("intruder"), blob.PutOptions{}); !errors.Is(err, blob.ErrLocked) {
			t.Errorf("overwrite of a blob under a policy error = %v, want ErrLocked", err)
		}
		if err := s.Put(ctx, "k", strings.NewReader("intruder"), blob.PutOptions{IfNotExists: true}); !errors.Is(err, blob.ErrAlreadyExists) {
			t.Errorf("IfNotExists Put of a blob under a policy error = %v, want ErrAlreadyExists", err)
		}
		if got, err := s.Retention(ctx, "k"); err != nil || !got.Equal(until) {
			t.Errorf("Retention = %v, %v, want %v", got, err, until)
		}
		if got := string(getAll(t, s, "k", 0, -1)); got != "original" {
			t.Errorf("Get = %q, want the original", got)
		}
		p.setPolicy("pre/k", time.Now().Add(-time.Minute))
		if err := s.Delete(ctx, "k"); err != nil {
			t.Errorf("Delete after the policy expired: %v", err)
		}
	})

	t.Run("ServiceRefusesDelete", func(t *testing.T) {
		p := newLockProxy(t, srv, proxyOptions{refuseDelete: true})
		s := open(t, keyConfig(p.server(), newContainer(t, srv), ""))
		putString(t, s, "k", "x")
		if err := s.Delete(t.Context(), "k"); !errors.Is(err, blob.ErrLocked) || blob.IsRetryable(err) {
			t.Errorf("Delete refused with 409 BlobImmutableDueToPolicy error = %v, want ErrLocked", err)
		}
	})
}

// lockProxy forwards to Azurite, claiming version-level immutability support for every
// container and adding what is configured of the immutability API.
type lockProxy struct {
	srv testenv.AzureServer
	url string

	mu       sync.Mutex
	policies map[string]time.Time // blob name → policy expiry reported by Get Blob Properties
}

// proxyOptions adds to what lockProxy plays.
type proxyOptions struct {
	ignorePolicy bool // answer Set Blob Immutability Policy with 200 and no policy
	refuseDelete bool // answer Delete Blob with 409 BlobImmutableDueToPolicy
}

func newLockProxy(t *testing.T, srv testenv.AzureServer, opts proxyOptions) *lockProxy {
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &lockProxy{srv: srv, policies: map[string]time.Time{}}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	rp.ModifyResponse = func(resp *http.Response) error {
		r := resp.Request
		switch {
		case r.Method == http.MethodGet && r.URL.Query().Get("restype") == "container" && r.URL.Query().Get("comp") == "":
			resp.Header.Set("x-ms-immutable-storage-with-versioning-enabled", "true")
		case r.Method == http.MethodHead:
			if until, ok := p.policy(blobName(r.URL.Path)); ok {
				resp.Header.Set("x-ms-immutability-policy-until-date", until.UTC().Format(http.TimeFormat))
				resp.Header.Set("x-ms-immutability-policy-mode", "locked")
			}
		}
		return nil
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case opts.ignorePolicy && r.Method == http.MethodPut && q.Get("comp") == "immutabilityPolicies":
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
		case opts.refuseDelete && r.Method == http.MethodDelete && q.Get("restype") == "":
			w.Header().Set("x-ms-error-code", "BlobImmutableDueToPolicy")
			w.WriteHeader(http.StatusConflict)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(front.Close)
	p.url = front.URL + target.Path
	return p
}

// server is the Azure endpoint of the proxy.
func (p *lockProxy) server() testenv.AzureServer {
	s := p.srv
	s.Endpoint = p.url
	return s
}

func (p *lockProxy) setPolicy(name string, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.policies[name] = until
}

func (p *lockProxy) policy(name string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	until, ok := p.policies[name]
	return until, ok
}

// blobName returns the blob of a request path /ACCOUNT/CONTAINER/BLOB.
func blobName(path string) string {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}
