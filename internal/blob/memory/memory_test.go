package memory_test

import (
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(*testing.T) blob.Storage { return memory.New() })
}

func TestRetention(t *testing.T) {
	var offset time.Duration // read by the storage only from the test's goroutine
	blobtest.RunRetention(t, func(*testing.T) blob.Storage {
		s := memory.New()
		s.Now = func() time.Time { return time.Now().Add(offset) }
		return s
	}, func(d time.Duration) { offset += d })
}
