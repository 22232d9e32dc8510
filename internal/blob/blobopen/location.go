package blobopen

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// LocationSchemes are the schemes of storage that keeps recovery points: what a backup instance
// or `cairn backup create --storage` may name. mem:// is left out: each Open of it is a new,
// empty store, fit for tests and dry runs only.
var LocationSchemes = []string{"file", "s3", "azblob"}

// ValidateLocation checks a storage location's URL without opening it: it parses, its scheme is
// one of LocationSchemes, and it carries no credentials (in the user part, or an Azure SAS token
// in the query), which belong in the environment of whoever opens it. Its errors never repeat the
// URL, which may carry credentials.
func ValidateLocation(raw string) error {
	if raw == "" {
		return errors.New("empty storage URL; use e.g. file:///var/backups/cairn, s3://BUCKET/prefix or azblob://ACCOUNT/CONTAINER")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return fmt.Errorf("invalid URL: %w", err)
	}
	if !isLocationScheme(u.Scheme) {
		return fmt.Errorf("scheme %q: use %s", u.Scheme, schemeList(LocationSchemes))
	}
	if u.User != nil || u.Query().Has("sig") {
		return errors.New("the URL holds credentials; the agent takes them from its environment, never from the URL")
	}
	return nil
}

func isLocationScheme(s string) bool {
	for _, l := range LocationSchemes {
		if s == l {
			return true
		}
	}
	return false
}

// schemeList writes schemes as "file://, s3:// or azblob://".
func schemeList(schemes []string) string {
	parts := make([]string, len(schemes))
	for i, s := range schemes {
		parts[i] = s + "://"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}
