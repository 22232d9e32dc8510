package blob

import (
	"net/url"
	"strings"
)

// DisplayURL returns u for messages: without user information, query and fragment, where
// credentials (passwords, access keys, SAS tokens) travel.
func DisplayURL(u *url.URL) string {
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	if !strings.Contains(u.Opaque, "@") {
		shown.Opaque = u.Opaque
	}
	return shown.String()
}
