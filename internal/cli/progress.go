package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressLine shows a running count: rewritten in place on a terminal, a plain line every few
// seconds otherwise (logs, CI).
type progressLine struct {
	out      io.Writer
	tty      bool
	mu       sync.Mutex
	last     time.Time
	interval time.Duration
	shown    bool
}

func newProgressLine(out io.Writer) *progressLine {
	p := &progressLine{out: out, interval: 5 * time.Second, last: time.Now()}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty, p.interval = true, 100*time.Millisecond
	}
	return p
}

func (p *progressLine) update(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < p.interval {
		return
	}
	p.last = time.Now()
	msg := fmt.Sprintf(format, args...)
	if p.tty {
		fmt.Fprintf(p.out, "\r\033[K%s", msg)
		p.shown = true
		return
	}
	fmt.Fprintln(p.out, msg)
}

func (p *progressLine) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.shown {
		fmt.Fprint(p.out, "\r\033[K")
	}
}
