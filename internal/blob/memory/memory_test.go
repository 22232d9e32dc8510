package memory_test

import (
	"testing"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(*testing.T) blob.Storage { return memory.New() })
}
