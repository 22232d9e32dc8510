//go:build integration

package azure_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/azure"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/testenv"
)

func randomName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// newContainer creates a fresh container on srv.
func newContainer(t *testing.T, srv testenv.AzureServer) string {
	t.Helper()
	name := randomName(t, "t-")
	srv.CreateContainer(t, name)
	return name
}

func keyConfig(srv testenv.AzureServer, container, prefix string) azure.Config {
	return azure.Config{Account: srv.Account, Container: container, Prefix: prefix, Endpoint: srv.Endpoint, AccountKey: srv.Key}
}

func open(t *testing.T, cfg azure.Config) *azure.Storage {
	t.Helper()
	s, err := azure.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("azure.New: %v", err)
	}
	return s
}

func putString(t *testing.T, s blob.Storage, key, data string) {
	t.Helper()
	if err := s.Put(t.Context(), key, strings.NewReader(data), blob.PutOptions{}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func getAll(t *testing.T, s blob.Storage, key string, offset, length int64) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key, offset, length)
	if err != nil {
		t.Fatalf("Get(%q, %d, %d): %v", key, offset, length, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return b
}

func TestAzurite(t *testing.T) {
	srv := testenv.StartAzurite(t)

	t.Run("Conformance", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) blob.Storage {
			name := newContainer(t, srv)
			prefix := randomName(t, "run-")
			// Neighbours the store must not see: outside its prefix, and sharing its prefix as
			// a string but not as a folder.
			raw := open(t, keyConfig(srv, name, ""))
			putString(t, raw, "outside/object", "x")
			putString(t, raw, prefix+"x/object", "x")
			putString(t, raw, prefix+"-sibling", "x")
			return open(t, keyConfig(srv, name, prefix))
		})
	})

	t.Run("ConformanceNoPrefix", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) blob.Storage {
			return open(t, keyConfig(srv, newContainer(t, srv), ""))
		})
	})

	t.Run("MultiBlock", func(t *testing.T) { testMultiBlock(t, keyConfig(srv, newContainer(t, srv), "mb")) })

	t.Run("String", func(t *testing.T) {
		name := newContainer(t, srv)
		if got, want := open(t, keyConfig(srv, name, "/a/b/")).String(), "azblob://devstoreaccount1/"+name+"/a/b"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		if got, want := open(t, keyConfig(srv, name, "")).String(), "azblob://devstoreaccount1/"+name; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	})

	t.Run("ParseURLConnectionString", func(t *testing.T) {
		name := newContainer(t, srv)
		// No endpoint in the URL: the connection string has it.
		u := mustParse(t, "azblob://devstoreaccount1/"+name+"/from-conn")
		cfg, err := azure.ParseURL(u, env(map[string]string{azure.EnvConnectionString: srv.ConnectionString}))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, cfg, keyConfig(srv, name, ""), "from-conn/")

		// The account may be left out of Config: the connection string names it.
		cfg.Account = ""
		if got, want := open(t, cfg).String(), "azblob://devstoreaccount1/"+name+"/from-conn"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	})

	t.Run("ParseURLAccountKey", func(t *testing.T) {
		name := newContainer(t, srv)
		u := mustParse(t, "azblob://devstoreaccount1/"+name+"/from-key?endpoint="+url.QueryEscape(srv.Endpoint))
		cfg, err := azure.ParseURL(u, env(map[string]string{azure.EnvAccountKey: srv.Key}))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, cfg, keyConfig(srv, name, ""), "from-key/")
	})

	t.Run("ParseURLSASToken", func(t *testing.T) {
		name := newContainer(t, srv)
		cred, err := azblob.NewSharedKeyCredential(srv.Account, srv.Key)
		if err != nil {
			t.Fatal(err)
		}
		perms := sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}
		qp, err := sas.BlobSignatureValues{
			Protocol:      sas.ProtocolHTTPSandHTTP,
			ExpiryTime:    time.Now().Add(time.Hour).UTC(),
			Permissions:   perms.String(),
			ContainerName: name,
		}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		u := mustParse(t, "azblob://devstoreaccount1/"+name+"/from-sas?endpoint="+url.QueryEscape(srv.Endpoint))
		cfg, err := azure.ParseURL(u, env(map[string]string{azure.EnvSASToken: qp.Encode()}))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, cfg, keyConfig(srv, name, ""), "from-sas/")
	})

	t.Run("MissingContainer", func(t *testing.T) {
		cfg := keyConfig(srv, "no-such-container", "")
		_, err := azure.New(t.Context(), cfg)
		if err == nil {
			t.Fatal("New with a missing container succeeded")
		}
		msg := err.Error()
		for _, want := range []string{`"devstoreaccount1"`, `"no-such-container"`, "does not exist"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %s", msg, want)
			}
		}
		if strings.Contains(msg, srv.Key) {
			t.Errorf("error %q shows the key", msg)
		}
		if blob.IsRetryable(err) {
			t.Errorf("missing container error %q is marked retryable", msg)
		}
	})

	t.Run("WrongKey", func(t *testing.T) {
		cfg := keyConfig(srv, newContainer(t, srv), "")
		cfg.AccountKey = "d3Jvbmcga2V5IGZvciB0aGUgdGVzdA=="
		_, err := azure.New(t.Context(), cfg)
		if err == nil {
			t.Fatal("New with a wrong key succeeded")
		}
		if msg := err.Error(); !strings.Contains(msg, "access denied") || strings.Contains(msg, cfg.AccountKey) {
			t.Errorf("error %q: want access denied, without the key", msg)
		}
	})

	t.Run("CredentialsInURLRefused", func(t *testing.T) {
		name := newContainer(t, srv)
		for _, raw := range []string{
			"azblob://devstoreaccount1:" + url.QueryEscape(srv.Key) + "@devstoreaccount1/" + name,
			"azblob://devstoreaccount1/" + name + "?sv=2024-01-01&sp=rl&sig=abc&endpoint=" + url.QueryEscape(srv.Endpoint),
		} {
			_, err := azure.ParseURL(mustParse(t, raw), env(map[string]string{azure.EnvAccountKey: srv.Key}))
			if err == nil || !strings.Contains(err.Error(), azure.EnvSASToken) {
				t.Errorf("ParseURL with credentials in the URL: error %v, want a refusal naming the variables", err)
			}
			if err != nil && (strings.Contains(err.Error(), "sig=") || strings.Contains(err.Error(), url.QueryEscape(srv.Key))) {
				t.Errorf("error %q shows the credentials", err)
			}
		}
	})

	t.Run("ServerGoneIsRetryable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + l.Addr().String() + "/devstoreaccount1"
		l.Close()
		cfg := keyConfig(srv, "whatever", "")
		cfg.Endpoint = dead
		_, err = azure.New(t.Context(), cfg)
		if !blob.IsRetryable(err) {
			t.Errorf("New against a closed port: error %v, want a retryable one", err)
		}
	})
}

// roundTrip opens cfg, stores an object through it and checks that raw (the same container
// without a prefix) sees it under rawPrefix.
func roundTrip(t *testing.T, cfg, raw azure.Config, rawPrefix string) {
	t.Helper()
	s := open(t, cfg)
	putString(t, s, "k/obj", "through the URL")
	if got := getAll(t, s, "k/obj", 0, -1); string(got) != "through the URL" {
		t.Errorf("Get = %q", got)
	}
	if got := getAll(t, open(t, raw), rawPrefix+"k/obj", 8, 3); string(got) != "the" {
		t.Errorf("raw Get of %sk/obj = %q, want %q", rawPrefix, got, "the")
	}
	var keys []string
	if err := s.List(t.Context(), "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "k/obj" {
		t.Errorf("List = %q, want [k/obj]", keys)
	}
	if err := s.Delete(t.Context(), "k/obj"); err != nil {
		t.Errorf("Delete: %v", err)
	}
}

// testMultiBlock covers what the conformance suite's small objects do not: objects of several
// staged blocks, committed or abandoned.
func testMultiBlock(t *testing.T, cfg azure.Config) {
	s := open(t, cfg)
	ctx := t.Context()
	data := make([]byte, 20<<20+123) // three blocks of 8 MiB, the last partial
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "big", bytes.NewReader(data), blob.PutOptions{IfNotExists: true}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := getAll(t, s, "big", 0, -1); !bytes.Equal(got, data) {
		t.Fatalf("Get returned %d bytes that differ from the %d put", len(got), len(data))
	}
	if got := getAll(t, s, "big", 8<<20-10, 20); !bytes.Equal(got, data[8<<20-10:8<<20+10]) {
		t.Errorf("Get across a block boundary differs")
	}
	if _, err := s.Get(ctx, "big", int64(len(data))-5, 6); !errors.Is(err, blob.ErrInvalidRange) {
		t.Errorf("Get past the end: error %v, want ErrInvalidRange", err)
	}

	// Refused, after staging all its blocks: the old object stays.
	other := bytes.Repeat([]byte("o"), 17<<20)
	if err := s.Put(ctx, "big", bytes.NewReader(other), blob.PutOptions{IfNotExists: true}); !errors.Is(err, blob.ErrAlreadyExists) {
		t.Errorf("IfNotExists Put of a multi-block object over an existing one: error %v, want ErrAlreadyExists", err)
	}

	// Cancelled, and failing, after some blocks were staged: nothing becomes visible.
	for _, key := range []string{"big", "new"} {
		cctx, cancel := context.WithCancel(ctx)
		err := s.Put(cctx, key, &countingReader{after: 17 << 20, cancel: cancel}, blob.PutOptions{})
		cancel()
		if !errors.Is(err, context.Canceled) || blob.IsRetryable(err) {
			t.Errorf("cancelled multi-block Put(%q): error %v, want context.Canceled", key, err)
		}
		boom := errors.New("source broke")
		err = s.Put(ctx, key, &countingReader{after: 17 << 20, err: boom}, blob.PutOptions{})
		if !errors.Is(err, boom) || blob.IsRetryable(err) {
			t.Errorf("failing multi-block Put(%q): error %v, want the reader's, not retryable", key, err)
		}
	}
	if _, err := s.Stat(ctx, "new"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat after abandoned Puts: error %v, want ErrNotFound", err)
	}
	if got := getAll(t, s, "big", 0, -1); !bytes.Equal(got, data) {
		t.Errorf("abandoned overwrites changed the object")
	}
}

// countingReader returns zeros; after `after` bytes it cancels, or fails with err.
type countingReader struct {
	after  int
	cancel context.CancelFunc
	err    error
	n      int
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n >= r.after {
		if r.cancel != nil {
			r.cancel()
		} else {
			return 0, r.err
		}
	}
	p = p[:min(len(p), 1<<20)]
	clear(p)
	r.n += len(p)
	return len(p), nil
}

// TestServerErrors checks, against a fake server, that server errors are returned at once (the
// SDK does not retry), marked retryable, and that a failed upload stops reading its source.
func TestServerErrors(t *testing.T) {
	var requests atomic.Int64
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodGet && r.URL.Query().Get("comp") == "list" {
			w.Header().Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="backups"><Blobs /><NextMarker /></EnumerationResults>`)
			return
		}
		requests.Add(1)
		w.Header().Set("x-ms-error-code", "ServerBusy")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer fake.Close()

	s, err := azure.New(t.Context(), azure.Config{
		Account: "devstoreaccount1", Container: "backups", Endpoint: fake.URL + "/devstoreaccount1",
		AccountKey: testenv.AzuriteKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(op string, err error) {
		t.Helper()
		var re *azcore.ResponseError
		if !blob.IsRetryable(err) || !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: error %v, want a retryable HTTP 503", op, err)
		}
		if n := requests.Swap(0); n != 1 {
			t.Errorf("%s: %d requests, want 1 (no retries by the SDK)", op, n)
		}
	}
	_, err = s.Stat(t.Context(), "k")
	check("Stat", err)
	_, err = s.Get(t.Context(), "k", 0, -1)
	check("Get", err)
	check("Delete", s.Delete(t.Context(), "k"))
	check("Put small", s.Put(t.Context(), "k", strings.NewReader("x"), blob.PutOptions{}))

	// A 1 GiB source: the failed first block must stop the reading long before its end.
	src := &countingReader{after: 1 << 30, err: io.EOF}
	err = s.Put(t.Context(), "k", src, blob.PutOptions{})
	var re *azcore.ResponseError
	if !blob.IsRetryable(err) || !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("Put large: error %v, want a retryable HTTP 503", err)
	}
	if src.n > 64<<20 {
		t.Errorf("Put large read %d MiB of its source after the first block failed", src.n>>20)
	}
	if n := requests.Load(); n > 3 {
		t.Errorf("Put large sent %d requests after the first failed", n)
	}
}
