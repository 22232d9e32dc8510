// Package blobopen turns a storage URL into a blob.Storage, choosing the backend by scheme. It is
// apart from package blob because it imports every backend, and the backends import blob.
package blobopen

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

// Open returns the Storage rawURL names:
//
//	file:///var/backups/cairn  a directory on this machine (created with mode 0700 if missing)
//	mem://                     a new, empty in-memory store (tests, dry runs)
func Open(_ context.Context, rawURL string) (blob.Storage, error) {
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
		return filesystem.OpenURL(u)
	case "mem":
		return memory.OpenURL(u)
	case "":
		if strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("storage URL %q has no scheme; did you mean file://%s?", blob.DisplayURL(u), u.Path)
		}
		return nil, fmt.Errorf("storage URL %q has no scheme; use e.g. file:///var/backups/cairn", blob.DisplayURL(u))
	default:
		return nil, fmt.Errorf("unsupported storage URL scheme %q in %q: supported are file:// and mem:// (azblob:// and s3:// arrive with the storage backends work)",
			u.Scheme, blob.DisplayURL(u))
	}
}
