package ui

import (
	"errors"
	"fmt"
	"net/http"
)

// maxFormBytes caps the body of a form the Backup center takes, as the API caps its bodies.
const maxFormBytes = 1 << 20

// limitForms reads the form of every POST up front, within maxFormBytes: a larger body is
// refused with 413 before any handler sees it (an unread or cut form would look empty).
func limitForms(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					http.Error(w, fmt.Sprintf("the form is larger than %d bytes, the most the Backup center takes", maxFormBytes), http.StatusRequestEntityTooLarge)
					return
				}
				http.Error(w, "the form could not be read: "+err.Error(), http.StatusBadRequest)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
