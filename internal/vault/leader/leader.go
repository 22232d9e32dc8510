package leader

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Store keeps the leadership row (store.Store).
type Store interface {
	// Lead takes or keeps role for holder until until, unless another holder's lease runs past now.
	Lead(ctx context.Context, role, holder string, now, until time.Time) (term int64, ok bool, err error)
	// StepDown gives role up if holder holds it.
	StepDown(ctx context.Context, role, holder string) error
}

// Defaults of an Elector (docs/design/vault.md, "Replicas").
const (
	DefaultTTL   = 15 * time.Second
	DefaultRenew = 5 * time.Second
)

// RoleScheduler is the role of the replica that runs the scheduler and the notifier.
const RoleScheduler = "scheduler"

// Elector takes and keeps a role for one replica.
type Elector struct {
	Store Store
	Role  string
	// Holder names this replica (Name).
	Holder string
	// TTL is how long a taken role stays held without renewal; Renew how often it is renewed or
	// tried (zero: the defaults).
	TTL, Renew time.Duration
	// Now is the wall clock the lease is written in: every replica compares it with its own.
	Now func() time.Time
	Log *slog.Logger
	// OnChange, if set, is told when this replica starts (true) and stops (false) leading.
	OnChange func(leading bool)
}

// Name makes a replica's name: its host, its process and 6 random characters, so that a restarted
// process on the same host is another replica.
func Name() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "vault"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:6])
}

// Run tries to take the role every Renew until ctx ends. While this replica holds it, lead runs
// with a context that ends when the role is lost: when a renewal is refused, or has not
// succeeded for TTL − Renew of this process's time, before any other replica can take the role.
// Run returns once lead has returned, after giving the role up.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) {
	ttl, renew := e.TTL, e.Renew
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if renew <= 0 {
		renew = DefaultRenew
	}
	if renew >= ttl {
		renew = ttl / 3
	}
	log := e.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var term *tenure
	defer func() {
		if term != nil {
			term.end()
			e.changed(false)
			stepCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renew)
			defer cancel()
			if err := e.Store.StepDown(stepCtx, e.Role, e.Holder); err != nil {
				log.WarnContext(ctx, "leadership not given up: another replica takes it when the lease ends", "role", e.Role, "error", err.Error())
			}
		}
	}()
	t := time.NewTicker(renew)
	defer t.Stop()
	for {
		if term != nil && term.lost() {
			log.WarnContext(ctx, "leadership lost: not renewed in time", "role", e.Role, "holder", e.Holder)
			term.end()
			term = nil
			e.changed(false)
		}
		started := time.Now()
		tryCtx, cancel := context.WithTimeout(ctx, renew)
		now := e.Now()
		n, ok, err := e.Store.Lead(tryCtx, e.Role, e.Holder, now, now.Add(ttl))
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.WarnContext(ctx, "leadership not renewed", "role", e.Role, "holder", e.Holder, "error", err.Error())
		case ok && term == nil:
			log.InfoContext(ctx, "leading", "role", e.Role, "holder", e.Holder, "term", n)
			term = startTenure(ctx, started.Add(ttl-renew), lead)
			e.changed(true)
		case ok:
			term.extend(started.Add(ttl - renew))
		case term != nil:
			log.WarnContext(ctx, "leadership taken by another replica", "role", e.Role, "holder", e.Holder)
			term.end()
			term = nil
			e.changed(false)
		}
		var lost <-chan struct{}
		if term != nil {
			lost = term.ctx.Done()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-lost:
		}
	}
}

func (e *Elector) changed(leading bool) {
	if e.OnChange != nil {
		e.OnChange(leading)
	}
}
