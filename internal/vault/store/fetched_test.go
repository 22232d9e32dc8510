package store

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestFetchedFiles(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		at := fixedClock()
		parts := [][]byte{bytes.Repeat([]byte{1}, FetchedPartBytes), bytes.Repeat([]byte{2}, FetchedPartBytes), {3, 3, 3}}
		// A longer upload of the same job went first and was cut short: its extra part goes.
		for n, p := range append(parts, []byte{9}) {
			if err := st.PutFetchedPart(ctx, "prod", 7, n, p, at); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, ok, err := st.TakeFetchedFile(ctx, "prod", 7, at.Add(-time.Minute)); ok || err != nil {
			t.Fatalf("a file not whole yet was taken: %v", err)
		}
		if err := st.FinishFetchedFile(ctx, "prod", 7, 2*FetchedPartBytes+3, len(parts), at); err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := st.TakeFetchedFile(ctx, "prod", 7, at.Add(time.Minute)); ok || err != nil {
			t.Fatalf("a file older than the cutoff was taken: %v", err)
		}
		size, n, ok, err := st.TakeFetchedFile(ctx, "prod", 7, at.Add(-time.Minute))
		if err != nil || !ok || size != 2*FetchedPartBytes+3 || n != len(parts) {
			t.Fatalf("taken: %d bytes in %d parts, %v %v", size, n, ok, err)
		}
		if _, _, ok, _ := st.TakeFetchedFile(ctx, "prod", 7, at.Add(-time.Minute)); ok {
			t.Fatal("a file was taken twice")
		}
		for i, want := range parts {
			if got, err := st.FetchedPart(ctx, "prod", 7, i); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("part %d: %d bytes, %v", i, len(got), err)
			}
		}
		if _, err := st.FetchedPart(ctx, "prod", 7, len(parts)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the cut-short upload's extra part: %v", err)
		}

		// Swept: files past their time, and parts no file holds.
		if err := st.FinishFetchedFile(ctx, "prod", 8, 3, 1, at); err != nil {
			t.Fatal(err)
		}
		if err := st.PutFetchedPart(ctx, "prod", 8, 0, []byte{1, 2, 3}, at); err != nil {
			t.Fatal(err)
		}
		if n, err := st.SweepFetchedFiles(ctx, at.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("swept %d files, %v", n, err)
		}
		for _, id := range []int64{7, 8} {
			if _, err := st.FetchedPart(ctx, "prod", id, 0); !errors.Is(err, ErrNotFound) {
				t.Errorf("job %d's part left after the sweep: %v", id, err)
			}
		}
	})
}
