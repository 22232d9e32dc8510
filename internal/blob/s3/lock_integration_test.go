//go:build integration

package s3_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/blob/s3"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// lockedServer starts versitygw and creates a fresh bucket with object lock on it.
func lockedServer(t *testing.T) (testenv.S3Server, string) {
	t.Helper()
	srv := testenv.StartVersityGW(t)
	bucket := randomName(t, "cairn-lock-")
	srv.CreateLockedBucket(t, bucket)
	return srv, bucket
}

func TestRetention(t *testing.T) {
	srv, bucket := lockedServer(t)
	blobtest.RunRetention(t, func(t *testing.T) blob.Storage {
		s, err := s3.New(t.Context(), config(t, srv, bucket, randomName(t, "run/")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, time.Sleep)
}

// TestIfNotExistsAfterDelete checks that a conditional Put of a key deleted in a bucket with
// object lock (so versioned: the key has a delete marker) never reports ErrAlreadyExists. S3
// lets it through; versitygw refuses it, which Put must report as such.
func TestIfNotExistsAfterDelete(t *testing.T) {
	srv, bucket := lockedServer(t)
	s, err := s3.New(t.Context(), config(t, srv, bucket, "d"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Put(ctx, "k", strings.NewReader("x"), blob.PutOptions{IfNotExists: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", strings.NewReader("y"), blob.PutOptions{IfNotExists: true}); !errors.Is(err, blob.ErrAlreadyExists) {
		t.Fatalf("IfNotExists Put over an object error = %v, want ErrAlreadyExists", err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	err = s.Put(ctx, "k", strings.NewReader("z"), blob.PutOptions{IfNotExists: true})
	switch {
	case err == nil:
	case errors.Is(err, blob.ErrAlreadyExists):
		t.Fatalf("IfNotExists Put of a deleted key error = %v: it claims an object that is not there", err)
	case !strings.Contains(err.Error(), "delete marker"):
		t.Errorf("IfNotExists Put of a deleted key error = %v, want one that explains the delete marker", err)
	default:
		t.Logf("server quirk reported: %v", err)
	}
}

func TestRetentionUnsupportedBucket(t *testing.T) {
	srv, bucket := server(t)
	s, err := s3.New(t.Context(), config(t, srv, bucket, "p"))
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, s3.PartSize+1)
	for _, data := range [][]byte{[]byte("small"), big} {
		err := s.Put(t.Context(), "k", bytes.NewReader(data), blob.PutOptions{RetainUntil: time.Now().Add(time.Hour)})
		if !errors.Is(err, blob.ErrRetentionUnsupported) {
			t.Fatalf("Put of %d bytes with RetainUntil into a bucket without object lock error = %v, want ErrRetentionUnsupported", len(data), err)
		}
		if msg := err.Error(); !strings.Contains(msg, bucket) || !strings.Contains(msg, "object lock enabled") || blob.IsRetryable(err) {
			t.Errorf("error %q should name the bucket and say to create it with object lock enabled", msg)
		}
	}
	if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("refused Put left an object: Stat error = %v", err)
	}
	// Objects put without a retention period report none.
	if err := s.Put(t.Context(), "plain", strings.NewReader("x"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if until, err := s.Retention(t.Context(), "plain"); err != nil || !until.IsZero() {
		t.Errorf("Retention(plain) = %v, %v, want the zero time", until, err)
	}
}

// TestRetentionMultipart locks an object too big for one request: the lock goes with the start
// of the multipart upload, with Content-MD5 on each part.
func TestRetentionMultipart(t *testing.T) {
	srv, bucket := lockedServer(t)
	s, err := s3.New(t.Context(), config(t, srv, bucket, "mp"))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, s3.PartSize+12345)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	until := time.Now().Add(time.Hour)
	if err := s.Put(ctx, "big", bytes.NewReader(data), blob.PutOptions{RetainUntil: until, IfNotExists: true}); err != nil {
		t.Fatalf("locked multipart Put: %v", err)
	}
	got, err := s.Retention(ctx, "big")
	if err != nil || got.Before(until.Add(-time.Millisecond)) || got.After(until.Add(time.Second)) {
		t.Errorf("Retention = %v, %v, want %v rounded up to a second", got, err, until)
	}
	if err := s.Delete(ctx, "big"); !errors.Is(err, blob.ErrLocked) {
		t.Errorf("Delete of the locked object error = %v, want ErrLocked", err)
	}
	rc, err := s.Get(ctx, "big", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(back, data) {
		t.Errorf("Get returned %d bytes (%v), want the %d put", len(back), err, len(data))
	}
}
