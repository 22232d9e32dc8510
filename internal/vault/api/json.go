package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// decodeJSON reads the request body, exactly one JSON object with no unknown fields, into v. Its
// errors are 400 apiErrors, or 413 when the body is over maxBodyBytes.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	switch err := dec.Decode(&json.RawMessage{}); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return badRequest("request body: unexpected data after the JSON object", "")
	default:
		return decodeError(err)
	}
}

func decodeError(err error) error {
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large",
			message: fmt.Sprintf("request body: larger than %d bytes", tooLarge.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("request body: empty; send a JSON object", "")
	case errors.As(err, &typeErr):
		return badRequest("request body: "+err.Error(), typeErr.Field)
	default:
		return badRequest("request body: "+err.Error(), "")
	}
}

func badRequest(message, field string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "bad_request", message: message, field: field}
}

// writeJSON writes v as the JSON response with the status (Handler has set the JSON headers). If
// v cannot be encoded it writes nothing and returns the error.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.WriteHeader(status)
	// A failed write means the client went away; the audit line still records the status.
	_, _ = w.Write(append(body, '\n'))
	return nil
}
