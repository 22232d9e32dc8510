//go:build integration

package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/blob/s3"
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

// server starts versitygw and creates a fresh bucket on it.
func server(t *testing.T) (testenv.S3Server, string) {
	t.Helper()
	srv := testenv.StartVersityGW(t)
	bucket := randomName(t, "cairn-test-")
	srv.CreateBucket(t, bucket)
	return srv, bucket
}

func config(t *testing.T, srv testenv.S3Server, bucket, prefix string) s3.Config {
	t.Helper()
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return s3.Config{
		Endpoint:  u.Host,
		Secure:    u.Scheme == "https",
		Region:    "us-east-1",
		Bucket:    bucket,
		Prefix:    prefix,
		AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey,
		PathStyle: true,
	}
}

func TestConformance(t *testing.T) {
	srv, bucket := server(t)
	blobtest.Run(t, func(t *testing.T) blob.Storage {
		s, err := s3.New(t.Context(), config(t, srv, bucket, randomName(t, "run/")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestNoPrefix(t *testing.T) {
	srv, bucket := server(t)
	s, err := s3.New(t.Context(), config(t, srv, bucket, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "s3://"+bucket; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if err := s.Put(t.Context(), "a/b", strings.NewReader("x"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := s.List(t.Context(), "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "a/b" {
		t.Errorf("List = %q, want [a/b]", keys)
	}
}

// TestMultipart checks objects over one part: a multipart upload, its IfNotExists, and ranges.
func TestMultipart(t *testing.T) {
	srv, bucket := server(t)
	s, err := s3.New(t.Context(), config(t, srv, bucket, "mp"))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, s3.PartSize+s3.PartSize/2+123)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Put(ctx, "big", bytes.NewReader(data), blob.PutOptions{IfNotExists: true}); err != nil {
		t.Fatalf("multipart Put: %v", err)
	}
	if err := s.Put(ctx, "big", bytes.NewReader(data), blob.PutOptions{IfNotExists: true}); !errors.Is(err, blob.ErrAlreadyExists) {
		t.Fatalf("second IfNotExists multipart Put error = %v, want ErrAlreadyExists", err)
	}
	rc, err := s.Get(ctx, "big", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get returned %d bytes (%v), want the %d put", len(got), err, len(data))
	}
	off := int64(s3.PartSize - 10)
	rc, err = s.Get(ctx, "big", off, 20)
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data[off:off+20]) {
		t.Errorf("ranged Get across parts returned %d bytes (%v), want 20 equal to the object's", len(got), err)
	}
	// A conditional multipart upload racing a small put must lose without leaving anything.
	if err := s.Put(ctx, "big2", strings.NewReader("small"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "big2", bytes.NewReader(data), blob.PutOptions{IfNotExists: true}); !errors.Is(err, blob.ErrAlreadyExists) {
		t.Fatalf("IfNotExists multipart Put over an existing key error = %v, want ErrAlreadyExists", err)
	}
	// The key appears while the upload is under way (after Put's advisory look): the
	// conditional CompleteMultipartUpload must refuse it.
	intruder := func() {
		if err := s.Put(ctx, "big3", strings.NewReader("intruder"), blob.PutOptions{IfNotExists: true}); err != nil {
			t.Errorf("intruding Put: %v", err)
		}
	}
	r := &hookReader{r: bytes.NewReader(data), at: s3.PartSize + 1, hook: intruder}
	if err := s.Put(ctx, "big3", r, blob.PutOptions{IfNotExists: true}); !errors.Is(err, blob.ErrAlreadyExists) {
		t.Fatalf("IfNotExists multipart Put that lost the race error = %v, want ErrAlreadyExists", err)
	}
	if !r.called {
		t.Fatal("the intruding Put did not run")
	}
	rc, err = s.Get(ctx, "big3", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(rc)
	rc.Close()
	if string(got) != "intruder" {
		t.Errorf("after the lost race the object holds %d bytes, want the intruder's", len(got))
	}
}

// hookReader reads r and calls hook once when at bytes have been read.
type hookReader struct {
	r      io.Reader
	n, at  int
	hook   func()
	called bool
}

func (h *hookReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.n += n
	if h.n >= h.at && !h.called {
		h.called = true
		h.hook()
	}
	return n, err
}

// cutReader returns data forever and, once it has returned after bytes, cancels (when cancel is
// set) or fails with err.
type cutReader struct {
	after  int
	n      int
	cancel context.CancelFunc
	err    error
}

func (r *cutReader) Read(p []byte) (int, error) {
	if r.n >= r.after {
		if r.cancel == nil {
			return 0, r.err
		}
		r.cancel()
	}
	p = p[:min(len(p), 1<<20)]
	for i := range p {
		p[i] = byte(r.n + i)
	}
	r.n += len(p)
	return len(p), nil
}

// TestMultipartFailure checks that a multipart upload cut by cancellation or a failing reader
// after its first part leaves no object and no pending upload.
func TestMultipartFailure(t *testing.T) {
	srv, bucket := server(t)
	s, err := s3.New(t.Context(), config(t, srv, bucket, "mpf"))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	for _, opts := range []blob.PutOptions{{}, {IfNotExists: true}} {
		ctx, cancel := context.WithCancel(t.Context())
		err := s.Put(ctx, "cut", &cutReader{after: s3.PartSize + 3<<20, cancel: cancel}, opts)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled multipart Put(%+v) error = %v, want context.Canceled", opts, err)
		}
		err = s.Put(t.Context(), "cut", &cutReader{after: s3.PartSize + 3<<20, err: boom}, opts)
		if !errors.Is(err, boom) {
			t.Errorf("failing multipart Put(%+v) error = %v, want the reader's", opts, err)
		}
	}
	if _, err := s.Stat(t.Context(), "cut"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat after failed multipart Puts error = %v, want ErrNotFound", err)
	}
	u, _ := url.Parse(srv.Endpoint)
	client, err := minio.NewCore(u.Host, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.ListMultipartUploads(t.Context(), bucket, "", "", "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Uploads) != 0 {
		t.Errorf("failed Puts left %d multipart uploads pending: %+v", len(res.Uploads), res.Uploads)
	}
}

func TestParseURLEndToEnd(t *testing.T) {
	srv, bucket := server(t)
	raw := "s3://" + bucket + "/team/cluster-1/?endpoint=" + url.QueryEscape(srv.Endpoint) + "&region=us-east-1&pathStyle=true"
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey}
	cfg, err := s3.ParseURL(u, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, err := s3.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "s3://"+bucket+"/team/cluster-1"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if err := s.Put(t.Context(), "hello", strings.NewReader("world"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// The object lands under the prefix: another Storage on the bucket root sees it there.
	root, err := s3.New(t.Context(), config(t, srv, bucket, ""))
	if err != nil {
		t.Fatal(err)
	}
	info, err := root.Stat(t.Context(), "team/cluster-1/hello")
	if err != nil || info.Size != 5 {
		t.Errorf("Stat(team/cluster-1/hello) = %+v, %v, want 5 bytes", info, err)
	}

	// Wrong credentials are a clear, permanent error that does not show the secret.
	env["AWS_SECRET_ACCESS_KEY"] = "wrong-secret-value"
	cfg, err = s3.ParseURL(u, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	_, err = s3.New(t.Context(), cfg)
	if err == nil {
		t.Fatal("New with a wrong secret key succeeded")
	}
	if strings.Contains(err.Error(), "wrong-secret-value") || blob.IsRetryable(err) {
		t.Errorf("New with wrong secret: error %q shows the secret or is retryable", err)
	}
}

func TestMissingBucket(t *testing.T) {
	srv, _ := server(t)
	_, err := s3.New(t.Context(), config(t, srv, "no-such-bucket", ""))
	if err == nil {
		t.Fatal("New on a missing bucket succeeded")
	}
	u, _ := url.Parse(srv.Endpoint)
	msg := err.Error()
	if !strings.Contains(msg, `"no-such-bucket"`) || !strings.Contains(msg, "does not exist") || !strings.Contains(msg, u.Host) {
		t.Errorf("error %q should name the bucket, say it does not exist, and name the endpoint", msg)
	}
	if strings.Contains(msg, srv.SecretKey) || strings.Contains(msg, srv.AccessKey) {
		t.Errorf("error %q shows credentials", msg)
	}
}

func TestUnreachableEndpointIsRetryable(t *testing.T) {
	// Nothing listens on port 1.
	cfg := s3.Config{Endpoint: "127.0.0.1:1", Region: "us-east-1", Bucket: "any", AccessKey: "k", SecretKey: "s", PathStyle: true}
	_, err := s3.New(t.Context(), cfg)
	if err == nil || !blob.IsRetryable(err) {
		t.Errorf("New on an unreachable endpoint error = %v, want a retryable error", err)
	}
}

func TestCredentialsInURLRefused(t *testing.T) {
	srv, bucket := server(t)
	u, err := url.Parse("s3://" + srv.AccessKey + ":" + srv.SecretKey + "@" + bucket + "/p?endpoint=" + url.QueryEscape(srv.Endpoint))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey}
	_, err = s3.ParseURL(u, func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("ParseURL accepted credentials in the URL")
	}
	if strings.Contains(err.Error(), srv.SecretKey) || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("error %q should point to AWS_ACCESS_KEY_ID and not show the secret", err)
	}
}
