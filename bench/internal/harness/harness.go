// Package harness holds what the benchmark commands under bench/ share: how a command runs
// (arguments checked, stopped by Ctrl-C or SIGTERM, its error printed), how work is spread over
// workers, how a measured command's time and peak RSS are read, and the servers they start
// (versitygw for S3).
package harness

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Main runs a benchmark command after flag.Parse: no positional arguments are allowed, run gets
// a context that SIGINT and SIGTERM cancel, and an error is printed prefixed with name (and
// "interrupted" when a signal caused it) before the process exits 1.
func Main(name string, run func(ctx context.Context) error) {
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "%s: unexpected arguments %q\n", name, flag.Args())
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	interrupted := ctx.Err() != nil
	stop()
	if err != nil {
		if interrupted {
			err = fmt.Errorf("interrupted: %w", err)
		}
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Parallel calls fn for 0..n-1 from the given number of workers; the first error cancels the
// rest and is returned.
func Parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// CheckList checks the names a list flag (-flag a,b,c) was given: each one known, none twice;
// what is what a name names, for the error.
func CheckList(flagName, what string, names, known []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return fmt.Errorf("-%s: unknown %s %q (known: %s)", flagName, what, n, strings.Join(known, ", "))
		}
		if seen[n] {
			return fmt.Errorf("-%s: %q named twice", flagName, n)
		}
		seen[n] = true
	}
	return nil
}
