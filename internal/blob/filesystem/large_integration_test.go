//go:build integration

package filesystem

import (
	"testing"

	"github.com/cairnbackup/cairn/internal/blob/blobtest"
)

func TestLargeObject(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobtest.RunLarge(t, s, blobtest.LargeSize)
}
