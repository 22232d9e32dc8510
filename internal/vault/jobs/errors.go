package jobs

import "errors"

// Errors of the vault's objects, which the API turns into statuses. The life cycle returns them,
// and so does the store (which re-exports them), for jobs and for every other object.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrConflict means the object's state forbids the operation (HTTP 409).
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the request names something that does not exist or cannot be used (HTTP 422).
	ErrInvalid = errors.New("invalid")
)
