package s3

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cairnbackup/cairn/internal/blob"
)

func head(meta map[string]string) minio.ObjectInfo {
	h := http.Header{}
	for k, v := range meta {
		h.Set(k, v)
	}
	return minio.ObjectInfo{Metadata: h}
}

func TestLockErr(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		meta   map[string]string
		locked bool
		fails  bool
	}{
		{"no lock", nil, false, false},
		{"future", map[string]string{headerLockMode: "COMPLIANCE", headerLockUntil: "2030-01-01T00:00:01Z"}, true, false},
		{"future with fraction", map[string]string{headerLockMode: "GOVERNANCE", headerLockUntil: "2030-01-01T00:00:00.5Z"}, true, false},
		{"expired", map[string]string{headerLockMode: "COMPLIANCE", headerLockUntil: "2029-12-31T23:59:59Z"}, false, false},
		{"legal hold", map[string]string{headerLegalHold: "ON"}, true, false},
		{"legal hold off", map[string]string{headerLegalHold: "OFF"}, false, false},
		{"unreadable date", map[string]string{headerLockMode: "COMPLIANCE", headerLockUntil: "soon"}, false, true},
	} {
		err := lockErr("delete", "k", head(tc.meta), now)
		switch {
		case tc.locked != errors.Is(err, blob.ErrLocked):
			t.Errorf("%s: lockErr = %v, want locked %v", tc.name, err, tc.locked)
		case tc.fails != (err != nil && !tc.locked):
			t.Errorf("%s: lockErr = %v", tc.name, err)
		}
	}
}

func TestLockErrorCodes(t *testing.T) {
	s := &Storage{bucket: "b", endpoint: "http://h"}
	for _, tc := range []struct {
		er            minio.ErrorResponse
		refusal, none bool
	}{
		{minio.ErrorResponse{Code: "AccessDenied", Message: "Access Denied because object protected by object lock.", StatusCode: 403}, true, false},
		{minio.ErrorResponse{Code: "AccessDenied", Message: "Access Denied", StatusCode: 403}, false, false},
		{minio.ErrorResponse{Code: "InvalidRequest", Message: "Object is WORM protected and cannot be overwritten", StatusCode: 400}, true, false},
		{minio.ErrorResponse{Code: "InvalidRequest", Message: "Bucket is missing Object Lock Configuration", StatusCode: 400}, false, true},
		{minio.ErrorResponse{Code: "InvalidRequest", Message: "Bucket is missing ObjectLockConfiguration", StatusCode: 400}, false, true},
		{minio.ErrorResponse{Code: "InvalidRequest", Message: "something else", StatusCode: 400}, false, false},
	} {
		if got := lockRefusal(tc.er); got != tc.refusal {
			t.Errorf("lockRefusal(%s %q) = %v", tc.er.Code, tc.er.Message, got)
		}
		if got := lockNotConfigured(tc.er); got != tc.none {
			t.Errorf("lockNotConfigured(%s %q) = %v", tc.er.Code, tc.er.Message, got)
		}
		err := s.mapErr(context.Background(), tc.er)
		if errors.Is(err, blob.ErrLocked) != tc.refusal || blob.IsRetryable(err) {
			t.Errorf("mapErr(%s %q) = %v", tc.er.Code, tc.er.Message, err)
		}
	}
}
