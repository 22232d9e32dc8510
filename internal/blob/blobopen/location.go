package blobopen

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/cairnbackup/cairn/internal/blob/azure"
	"github.com/cairnbackup/cairn/internal/blob/s3"
)

// LocationSchemes are the schemes of storage that keeps recovery points: what a backup instance
// or `cairn backup create --storage` may name. mem:// is left out: each Open of it is a new,
// empty store, fit for tests and dry runs only.
var LocationSchemes = []string{"file", "s3", "azblob"}

// ValidateLocation checks a storage location's URL without opening it: it parses, its scheme is
// one of LocationSchemes, and it carries no credentials (in the user part, or in the query: it
// takes only the query parameters its backend takes, none of which holds a secret), which belong in the environment of whoever opens it. Its errors never repeat the
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
	if u.User != nil {
		return errCredentialsInURL
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return errors.New("invalid URL: malformed query")
	}
	known := locationParameters[u.Scheme]
	for name, values := range query {
		// Neither the name nor the value is repeated: either may be a secret pasted in.
		if !slices.Contains(known, name) {
			if len(known) == 0 {
				return fmt.Errorf("%s:// takes no query parameters; credentials never go in the URL", u.Scheme)
			}
			return fmt.Errorf("the URL has a query parameter %s:// does not take (it takes %s); credentials never go in the URL", u.Scheme, strings.Join(known, ", "))
		}
		for _, v := range values {
			if e, err := url.Parse(v); name == "endpoint" && (err != nil || e.User != nil || e.RawQuery != "") {
				return errors.New("the endpoint parameter must be a plain http(s)://HOST[:PORT] URL, without credentials or a query")
			}
		}
	}
	return nil
}

// errCredentialsInURL refuses a location URL with a user part.
var errCredentialsInURL = errors.New("the URL holds credentials; the agent takes them from its environment, never from the URL")

// locationParameters are the query parameters each location scheme takes: its backend's.
var locationParameters = map[string][]string{"s3": s3.URLParameters, "azblob": azure.URLParameters}

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
