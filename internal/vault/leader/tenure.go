package leader

import (
	"context"
	"time"
)

// tenure is one spell of leading: lead runs until end, or until the deadline passes unrenewed.
type tenure struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	timer  *time.Timer
}

// startTenure runs lead until the tenure ends or deadline (this process's time) passes.
func startTenure(ctx context.Context, deadline time.Time, lead func(ctx context.Context)) *tenure {
	t := &tenure{done: make(chan struct{})}
	t.ctx, t.cancel = context.WithCancel(ctx)
	t.timer = time.AfterFunc(time.Until(deadline), t.cancel)
	go func() {
		defer close(t.done)
		lead(t.ctx)
	}()
	return t
}

// extend moves the deadline after a renewal; a deadline passed already stays passed.
func (t *tenure) extend(deadline time.Time) {
	if t.timer.Stop() {
		t.timer = time.AfterFunc(time.Until(deadline), t.cancel)
	}
}

// lost tells whether the deadline passed.
func (t *tenure) lost() bool { return t.ctx.Err() != nil }

// end stops lead and waits for it to return.
func (t *tenure) end() {
	t.timer.Stop()
	t.cancel()
	<-t.done
}
