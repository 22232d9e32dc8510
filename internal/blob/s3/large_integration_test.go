//go:build integration

package s3_test

import (
	"testing"

	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/blob/s3"
)

func TestLargeObject(t *testing.T) {
	srv, bucket := server(t)
	s, err := s3.New(t.Context(), config(t, srv, bucket, "large"))
	if err != nil {
		t.Fatal(err)
	}
	blobtest.RunLarge(t, s, blobtest.LargeSize)
}
