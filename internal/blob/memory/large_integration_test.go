//go:build integration

package memory

import (
	"testing"

	"github.com/cairnbackup/cairn/internal/blob/blobtest"
)

func TestLargeObject(t *testing.T) {
	blobtest.RunLarge(t, New(), blobtest.LargeSize)
}
