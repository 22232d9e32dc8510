package restore

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// TestLargeRestoreWritesItsItemsInBatches: a restore of many items keeps in memory only those
// that matter and the first plain ones, writes every item to batches, and ReadResult gives them
// all back in order, the counts whole (docs/design/format.md 4.4).
func TestLargeRestoreWritesItsItemsInBatches(t *testing.T) {
	ctx := t.Context()
	st := memory.New()
	repo, err := archive.Init(ctx, st, archive.Credential{Passphrase: []byte("pw")},
		archive.InitOptions{Encrypt: true, KDF: archive.KDF{Algorithm: "argon2id", Time: 1, MemoryKiB: 1024, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{store: func(seq int, items []ItemResult) error { return repo.PutRestoreItems(ctx, "big", seq, items) }}
	const n = 2*batchSize + 500
	for i := range n {
		it := ItemResult{Resource: "configmaps", Namespace: "shop", Name: fmt.Sprintf("cm-%05d", i), Action: ActionCreate}
		if i%1000 == 7 {
			it.Action, it.Reason = ActionSkip, "already exists (conflict policy skip)"
		}
		rec.add(it)
	}
	res := &Result{Name: "big"}
	rec.finish(res)
	if res.ItemBatches != 3 {
		t.Fatalf("%d batches, want 3", res.ItemBatches)
	}
	if c := res.Counts; c.Created != n-21 || c.Skipped != 21 || c.Total() != n {
		t.Fatalf("counts %+v, want %d created and 21 skipped", c, n-21)
	}
	if got, want := len(res.Items), keptPlain+21; got != want {
		t.Fatalf("%d items kept in memory, want %d (every skip and the first %d creates)", got, want, keptPlain)
	}
	if err := repo.PutRestoreResult(ctx, "big", res); err != nil {
		t.Fatal(err)
	}
	read, err := ReadResult(ctx, repo, "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(read.Items) != n {
		t.Fatalf("ReadResult gave %d items, want %d", len(read.Items), n)
	}
	for i, it := range read.Items {
		if want := fmt.Sprintf("cm-%05d", i); it.Name != want {
			t.Fatalf("item %d is %s, want %s", i, it.Name, want)
		}
	}
	// A batch is bound to its place: copied over another, it no longer opens.
	second, err := blob.ReadAll(ctx, st, "restores/big/items/000002", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "restores/big/items/000001", bytes.NewReader(second), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadResult(ctx, repo, "big"); !errors.Is(err, archive.ErrTampered) {
		t.Fatalf("a batch moved to another place reads: %v", err)
	}
}

// TestSmallRestoreKeepsItsItemsInline: a restore with fewer items than a batch writes none.
func TestSmallRestoreKeepsItsItemsInline(t *testing.T) {
	stored := 0
	rec := &recorder{store: func(int, []ItemResult) error { stored++; return nil }}
	for i := range batchSize - 1 {
		rec.add(ItemResult{Resource: "configmaps", Name: fmt.Sprint(i), Action: ActionCreate})
	}
	res := &Result{}
	rec.finish(res)
	if stored != 0 || res.ItemBatches != 0 || len(res.Items) != batchSize-1 {
		t.Fatalf("%d batches stored, %d recorded, %d items inline; want 0, 0, %d", stored, res.ItemBatches, len(res.Items), batchSize-1)
	}
}

// TestFailedBatchWarnsAndKeepsCounting: when storage refuses a batch after the first, the counts
// stay whole and a warning says the items are not; when it refuses the first, every item stays in
// the result.
func TestFailedBatchWarnsAndKeepsCounting(t *testing.T) {
	for _, tc := range []struct {
		failAt, batches, items, warnings int
	}{
		{failAt: 2, batches: 1, items: keptPlain, warnings: 1},
		{failAt: 1, batches: 0, items: 2*batchSize + 10, warnings: 0},
	} {
		rec := &recorder{store: func(seq int, _ []ItemResult) error {
			if seq == tc.failAt {
				return errors.New("bucket is gone")
			}
			return nil
		}}
		for i := range 2*batchSize + 10 {
			rec.add(ItemResult{Resource: "configmaps", Name: fmt.Sprint(i), Action: ActionCreate})
		}
		res := &Result{}
		rec.finish(res)
		if res.Counts.Created != 2*batchSize+10 || res.ItemBatches != tc.batches || len(res.Items) != tc.items || len(res.Warnings) != tc.warnings {
			t.Errorf("failing at batch %d: counts %+v, %d batches, %d items, warnings %q; want %d batches, %d items, %d warnings",
				tc.failAt, res.Counts, res.ItemBatches, len(res.Items), res.Warnings, tc.batches, tc.items, tc.warnings)
		}
	}
}

// TestProgressNeverGoesBack: items recorded from several goroutines are reported one at a time,
// with counts that never decrease.
func TestProgressNeverGoesBack(t *testing.T) {
	var calls testenv.ProgressCalls
	rec := &recorder{progress: func(p Progress) { calls.Report(int64(p.Done)) }}
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				rec.add(ItemResult{Resource: "configmaps", Namespace: "shop", Name: fmt.Sprintf("cm-%d-%d", w, i), Action: ActionCreate})
			}
		})
	}
	wg.Wait()
	if err := calls.Check(workers * each); err != nil {
		t.Fatal(err)
	}
}
