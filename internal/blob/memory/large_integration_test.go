//go:build integration

package memory

import (
	"testing"

	"github.com/cairnbackup/cairn/internal/blob/blobtest"
)

// The in-memory store holds whole objects in RAM, and under the race detector a 2 GiB object
// (plus the shadow memory for it) exhausts the machine: it streams a smaller one. Real backends
// stream blobtest.LargeSize.
func TestLargeObject(t *testing.T) {
	blobtest.RunLarge(t, New(), 256<<20+12345)
}
