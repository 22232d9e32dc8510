package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// Options configure a Notifier; the zero value works.
type Options struct {
	// HTTPClient posts to webhooks (default: a client with Timeout).
	HTTPClient *http.Client
	// Timeout bounds one attempt at a delivery (default 15 s).
	Timeout time.Duration
	Logger  *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Notifier watches a vault's store for events, routes them to rules and delivers them.
type Notifier struct {
	st      *store.Store
	now     func() time.Time
	log     *slog.Logger
	http    *http.Client
	timeout time.Duration
}

// New returns a notifier over st.
func New(st *store.Store, opts Options) *Notifier {
	n := &Notifier{st: st, now: opts.Now, log: opts.Logger, http: opts.HTTPClient, timeout: opts.Timeout}
	if n.now == nil {
		n.now = time.Now
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.timeout <= 0 {
		n.timeout = 15 * time.Second
	}
	if n.http == nil {
		n.http = &http.Client{Timeout: n.timeout}
	}
	return n
}

// Run ticks at once and then every interval until ctx ends; a failed tick is logged.
func (n *Notifier) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := n.Tick(ctx); err != nil && ctx.Err() == nil {
			n.log.ErrorContext(ctx, "notifier tick failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick records what the watch sees, routes the events not routed yet and makes the deliveries
// that are due.
func (n *Notifier) Tick(ctx context.Context) error {
	return errors.Join(n.watch(ctx), n.route(ctx), n.deliverDue(ctx))
}

// routeBatch is how many events one transaction routes.
const routeBatch = 500

// route makes the deliveries of the events not routed yet.
func (n *Notifier) route(ctx context.Context) error {
	rules := map[string][]store.NotificationRule{}
	var errs []error
	wanting := func(e events.Event) []string {
		rs, ok := rules[e.Vault]
		if !ok {
			var err error
			if rs, err = n.st.ListNotificationRules(ctx, e.Vault); err != nil {
				errs = append(errs, err)
			}
			rules[e.Vault] = rs
		}
		var names []string
		for _, r := range rs {
			if Wants(r, e.Type) {
				names = append(names, r.Name)
			}
		}
		return names
	}
	for {
		routed, err := n.st.RouteEvents(ctx, routeBatch, wanting, n.now())
		if err != nil || len(errs) > 0 {
			return errors.Join(append(errs, err)...)
		}
		if routed < routeBatch {
			return nil
		}
	}
}

// deliverBatch is how many due deliveries one tick attempts.
const deliverBatch = 100

// deliverDue attempts the deliveries that are due.
func (n *Notifier) deliverDue(ctx context.Context) error {
	due, err := n.st.DueDeliveries(ctx, n.now(), deliverBatch)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range due {
		if _, err := n.deliver(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Send makes the delivery now, if it is pending, and returns it as it then is: the API's "send a
// test notification" waits for it.
func (n *Notifier) Send(ctx context.Context, vault string, id int64) (store.Delivery, error) {
	d, err := n.st.GetDelivery(ctx, vault, id)
	if err != nil || d.State != store.DeliveryPending {
		return d, err
	}
	if _, err := n.deliver(ctx, d); err != nil {
		return d, err
	}
	return n.st.GetDelivery(ctx, vault, id)
}

// deliver makes one attempt at d, unless another process took it first (took is false then),
// and records how it ended.
func (n *Notifier) deliver(ctx context.Context, d store.Delivery) (took bool, err error) {
	now := n.now()
	ok, err := n.st.TakeDelivery(ctx, d, now, now.Add(2*n.timeout))
	if err != nil || !ok {
		return false, err
	}
	sendErr := n.send(ctx, d)
	a := Outcome(d, sendErr, n.now())
	log := n.log.With("vault", d.Event.Vault, "rule", d.Rule, "delivery", d.ID, "event", string(d.Event.Type), "attempt", d.Attempts+1)
	switch a.State {
	case store.DeliveryDelivered:
		log.InfoContext(ctx, "notification delivered")
	case store.DeliveryPending:
		log.WarnContext(ctx, "notification not delivered: will try again", "error", a.Error, "next", a.NextAttempt)
	default:
		log.ErrorContext(ctx, "notification not delivered: gave up", "error", a.Error)
	}
	return true, n.st.EndAttempt(ctx, d.ID, a)
}

// send sends d through its rule's channel.
func (n *Notifier) send(ctx context.Context, d store.Delivery) error {
	r, err := n.st.GetNotificationRule(ctx, d.Event.Vault, d.Rule)
	if errors.Is(err, store.ErrNotFound) {
		return errRuleGone
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	switch r.Channel.Type {
	case Webhook, Slack, Teams:
		return n.post(ctx, r, d)
	case Email:
		return n.mail(ctx, r, d)
	}
	return fmt.Errorf("channel type %q: not one this vault sends to", r.Channel.Type)
}

var errRuleGone = errors.New("the rule was deleted")
