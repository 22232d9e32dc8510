package retry_test

import (
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/blob/fault"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/blob/retry"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(*testing.T) blob.Storage {
		return retry.New(memory.New(), retry.Options{Sleep: noSleep})
	})
}

// TestConformanceFlaky runs the suite over a backend whose every op fails a few times first.
// Mid-stream faults are kept to the suite's big object, which it puts from a seekable reader: a
// non-seekable body failing part way is rightly not retried.
func TestConformanceFlaky(t *testing.T) {
	blobtest.Run(t, func(*testing.T) blob.Storage {
		f := fault.New(memory.New(),
			fault.Fault{Op: "*", Times: 3, Err: err503},
			fault.Fault{Op: "put", Times: 2, Err: errReset},
			fault.Fault{Op: "put", KeyPrefix: "big/", Times: 2, AfterBytes: 1 << 20, Err: errReset},
			fault.Fault{Op: "get", Times: 2, Err: errReset},
			fault.Fault{Op: "list", Times: 2, Err: err503},
			fault.Fault{Op: "stat", Times: 2, Err: err503},
			fault.Fault{Op: "delete", Times: 2, Err: err503},
		)
		return retry.New(f, retry.Options{Attempts: 8, Sleep: noSleep})
	})
}

// TestRetentionFlaky runs the retention suite through flaky decorators: RetainUntil and
// Retention pass through, and ErrLocked is returned at once, not retried.
func TestRetentionFlaky(t *testing.T) {
	var offset time.Duration // read by the storage only from the test's goroutine
	blobtest.RunRetention(t, func(*testing.T) blob.Storage {
		m := memory.New()
		m.Now = func() time.Time { return time.Now().Add(offset) }
		f := fault.New(m,
			fault.Fault{Op: "*", Times: 3, Err: err503},
			fault.Fault{Op: "retention", Times: 2, Err: errReset},
		)
		return retry.New(f, retry.Options{Attempts: 8, Sleep: noSleep})
	}, func(d time.Duration) { offset += d })
}
