package blob_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/internal/blob"
	_ "github.com/cairnbackup/cairn/internal/blob/filesystem"
	_ "github.com/cairnbackup/cairn/internal/blob/memory"
)

func TestValidateKey(t *testing.T) {
	for _, key := range []string{"a", "a/b/c", "snapshots/2024-05-01T10.00.00Z/index_0.json", "...", ".hidden", strings.Repeat("k", blob.MaxKeyLen)} {
		if err := blob.ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range []string{"", "/abs", "a//b", "../x", "a/./b", ".", "a/..", "a/", "with space", "ü", "a:b", "a\\b", strings.Repeat("k", blob.MaxKeyLen+1)} {
		err := blob.ValidateKey(key)
		if !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", key, err)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) || !strings.HasPrefix(err.Error(), "blob: ") {
			t.Errorf("ValidateKey(%q) error %q does not name the key", key, err)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"", "a", "a/", "a/b/", "snap/2024-0", "a/.x"} {
		if err := blob.ValidatePrefix(p); err != nil {
			t.Errorf("ValidatePrefix(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"/", "/a", "../", "a/../b", "a//", "..", "a/.", "a b"} {
		if err := blob.ValidatePrefix(p); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("ValidatePrefix(%q) = %v, want ErrInvalidKey", p, err)
		}
	}
}

func TestIsRetryable(t *testing.T) {
	transient := errors.New("connection reset")
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{transient, false},
		{&blob.RetryableError{Err: transient}, true},
		{fmt.Errorf("put k: %w", &blob.RetryableError{Err: transient}), true},
		{&blob.RetryableError{}, true},
		{fmt.Errorf("get k: %w", blob.ErrNotFound), false},
		{&blob.RetryableError{Err: blob.ErrAlreadyExists}, false},
		{&blob.RetryableError{Err: context.Canceled}, false},
		{&blob.RetryableError{Err: fmt.Errorf("slow: %w", context.DeadlineExceeded)}, false},
		{blob.ErrInvalidRange, false},
		{blob.ErrInvalidKey, false},
		{&blob.RetryableError{Err: blob.ErrLocked}, false},
		{&blob.RetryableError{Err: fmt.Errorf("put k: %w", blob.ErrRetentionUnsupported)}, false},
	} {
		if got := blob.IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	re := &blob.RetryableError{Err: transient}
	if re.Error() != transient.Error() || !errors.Is(re, transient) {
		t.Errorf("RetryableError does not present and unwrap its error: %q", re.Error())
	}
}

func TestDisplayURL(t *testing.T) {
	for in, want := range map[string]string{
		"s3://AKID:secret@bucket/prefix?x=1#f": "s3://bucket/prefix",
		"azblob://acct/container?sig=secret":   "azblob://acct/container",
		"file:///var/backups/cairn":            "file:///var/backups/cairn",
		"file:relative":                        "file:relative",
		"s3:AKID:secret@bucket":                "s3:",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := blob.DisplayURL(u); got != want {
			t.Errorf("DisplayURL(%q) = %q, want %q", in, got, want)
		}
	}
}
