package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/cairnbackup/cairn/internal/vault/store"
)

// apiError is an error with the status and body the client gets.
type apiError struct {
	status  int
	code    string // machine-readable: bad_request, unauthorized, forbidden, not_found, ...
	message string
	field   string // the request field at fault, if one is
}

func (e *apiError) Error() string { return e.message }

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// statusClientClosedRequest is the status logged for a request its caller abandoned (nginx's 499;
// the caller never sees it).
const statusClientClosedRequest = 499

// writeError answers with err as JSON: an apiError as it says, store.ErrNotFound 404,
// store.ErrExists 409, anything else a logged 500 with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrNotFound):
		e = &apiError{status: http.StatusNotFound, code: "not_found", message: err.Error()}
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrConflict):
		e = &apiError{status: http.StatusConflict, code: "conflict", message: trimSentinel(err)}
	case errors.Is(err, store.ErrInvalid):
		field, _, _ := strings.Cut(err.Error(), ":")
		if strings.ContainsAny(field, " \"") {
			field = ""
		}
		e = &apiError{status: http.StatusUnprocessableEntity, code: "invalid", message: trimSentinel(err), field: field}
	case r.Context().Err() != nil && errors.Is(err, r.Context().Err()):
		// The caller went away (an agent stopping, a client's timeout): nobody reads the answer.
		s.log.InfoContext(r.Context(), "api request abandoned by its caller", "method", r.Method, "path", r.URL.Path, "error", err.Error())
		e = &apiError{status: statusClientClosedRequest, code: "cancelled", message: "the request was cancelled"}
	default:
		s.log.ErrorContext(r.Context(), "api internal error", "method", r.Method, "path", r.URL.Path, "error", err.Error())
		e = &apiError{status: http.StatusInternalServerError, code: "internal", message: "internal error; the vault's log has the details"}
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	// An errorBody holds only strings, so encoding it cannot fail.
	body, _ := json.Marshal(errorBody{errorDetail{Code: e.code, Message: e.message, Field: e.field}})
	w.WriteHeader(e.status)
	// A failed write means the client went away; the audit line still records the status.
	_, _ = w.Write(append(body, '\n'))
}

// invalid turns a validation error (one problem, or several joined with errors.Join, each
// starting with its field path) into a 422 naming every problem and the first one's field.
func invalid(err error) *apiError {
	problems := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		problems = joined.Unwrap()
	}
	messages := make([]string, len(problems))
	for i, p := range problems {
		messages[i] = p.Error()
	}
	field, _, _ := strings.Cut(messages[0], " ")
	return &apiError{
		status:  http.StatusUnprocessableEntity,
		code:    "invalid",
		message: strings.Join(messages, "; "),
		field:   strings.TrimSuffix(field, ":"),
	}
}

// trimSentinel drops the store's sentinel words (": conflict", ": invalid") from a message.
func trimSentinel(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{store.ErrConflict, store.ErrInvalid} {
		msg = strings.TrimSuffix(msg, ": "+sentinel.Error())
	}
	return msg
}
