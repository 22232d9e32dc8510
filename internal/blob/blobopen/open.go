// Package blobopen turns a storage URL into a blob.Storage, choosing the backend by scheme. It is
// apart from package blob because it imports every backend, and the backends import blob.
package blobopen

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/azure"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/blob/metrics"
	"github.com/cairnbackup/cairn/internal/blob/retry"
	"github.com/cairnbackup/cairn/internal/blob/s3"
)

// Open returns the Storage rawURL names:
//
//	file:///var/backups/cairn                         a directory on this machine (created with mode 0700 if missing)
//	s3://BUCKET/PREFIX?endpoint=...&region=...        S3 or an S3-compatible store
//	azblob://ACCOUNT/CONTAINER/PREFIX?endpoint=...    Azure Blob storage
//	mem://                                            a new, empty in-memory store (tests, dry runs)
//
// Credentials come from the environment through getenv, never from the URL: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (or the shared credentials file) for s3://; AZURE_STORAGE_CONNECTION_STRING,
// AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN for azblob://. Remote stores are wrapped in the
// retry decorator.
func Open(ctx context.Context, rawURL string, getenv func(string) string) (blob.Storage, error) {
	return OpenWith(ctx, rawURL, getenv, Options{})
}

// Options adjust OpenWith.
type Options struct {
	// Metrics, if set, records the storage's operations, bytes, latency, errors and retries
	// (package blob/metrics), labelled backend with the URL's scheme (file, s3, azblob, mem): the
	// decorator sits under the retry decorator, so every attempt is counted.
	Metrics prometheus.Registerer
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, rawURL string, getenv func(string) string, opts Options) (blob.Storage, error) {
	if rawURL == "" {
		return nil, errors.New("empty storage URL; use e.g. --storage file:///var/backups/cairn")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, which may carry credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid storage URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		st, err := filesystem.OpenURL(u)
		if err != nil {
			return nil, err
		}
		return opts.wrap(st, u.Scheme, false)
	case "mem":
		st, err := memory.OpenURL(u)
		if err != nil {
			return nil, err
		}
		return opts.wrap(st, u.Scheme, false)
	case "s3":
		cfg, err := s3.ParseURL(u, getenv)
		if err != nil {
			return nil, err
		}
		st, err := s3.New(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return opts.wrap(st, u.Scheme, true)
	case "azblob":
		cfg, err := azure.ParseURL(u, getenv)
		if err != nil {
			return nil, err
		}
		st, err := azure.New(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return opts.wrap(st, u.Scheme, true)
	case "":
		if strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("storage URL %q has no scheme; did you mean file://%s?", blob.DisplayURL(u), u.Path)
		}
		return nil, fmt.Errorf("storage URL %q has no scheme; use e.g. file:///var/backups/cairn", blob.DisplayURL(u))
	default:
		return nil, fmt.Errorf("unsupported storage URL scheme %q in %q: supported are file://, s3://, azblob:// and mem://",
			u.Scheme, blob.DisplayURL(u))
	}
}

// wrap puts the decorators around a backend: the metrics, if asked for, then (for remote stores)
// the retries, which the metrics count.
func (o Options) wrap(st blob.Storage, scheme string, remote bool) (blob.Storage, error) {
	var onRetry func(op, key string, attempt int, err error)
	if o.Metrics != nil {
		m, err := metrics.New(st, o.Metrics, scheme)
		if err != nil {
			return nil, err
		}
		st, onRetry = m, m.RetryHook()
	}
	if remote {
		st = retry.New(st, retry.Options{OnRetry: onRetry})
	}
	return st, nil
}
