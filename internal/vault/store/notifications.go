package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/events"
)

// NotificationRule is which events of a vault go to one channel (docs/design/monitoring.md,
// "Notifications"); package notify validates and sends.
type NotificationRule struct {
	Name    string
	Events  []events.Type
	Channel Channel
	// Secret is the webhook's HMAC key or the SMTP password (empty: none). It is never shown.
	Secret    string
	CreatedAt time.Time
	CreatedBy string
}

// Channel is where a rule's notifications go: an HTTP endpoint (URL) or an SMTP server.
type Channel struct {
	Type     string   `json:"type"`
	URL      string   `json:"url,omitempty"`
	SMTP     string   `json:"smtp,omitempty"` // host:port
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
	Username string   `json:"username,omitempty"`
}

// Delivery states: the API's.
const (
	DeliveryPending   = vaultv1.DeliveryPending   // not sent yet, or to be tried again at NextAttempt
	DeliveryDelivered = vaultv1.DeliveryDelivered // the channel took it
	DeliveryFailed    = vaultv1.DeliveryFailed    // every attempt failed, or its rule was deleted
)

// Delivery is one event sent through one rule's channel.
type Delivery struct {
	ID          int64
	Rule        string
	Event       events.Event
	State       string
	Attempts    int
	NextAttempt *time.Time // pending only
	LastError   string
	CreatedAt   time.Time
	DeliveredAt *time.Time
}

// CreateNotificationRule stores a rule; a rule of that name is ErrExists.
func (s *Store) CreateNotificationRule(ctx context.Context, vault string, r NotificationRule) error {
	channel, err := json.Marshal(r.Channel)
	if err != nil {
		return fmt.Errorf("encode the channel of rule %q: %w", r.Name, err)
	}
	_, err = s.writes.ExecContext(ctx, `INSERT INTO notification_rules (vault, name, events, channel, secret, created_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, vault, r.Name, joinTypes(r.Events), string(channel), r.Secret, r.CreatedAt.UTC(), r.CreatedBy)
	if err != nil && isUniqueViolation(err) {
		return fmt.Errorf("notification rule %q: %w", r.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("store notification rule %q: %w", r.Name, err)
	}
	return nil
}

const ruleColumns = `name, events, channel, secret, created_at, created_by`

// ListNotificationRules lists the vault's rules by name.
func (s *Store) ListNotificationRules(ctx context.Context, vault string) ([]NotificationRule, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+ruleColumns+` FROM notification_rules WHERE vault = $1 ORDER BY name`, vault)
	if err != nil {
		return nil, fmt.Errorf("list notification rules: %w", err)
	}
	defer rows.Close()
	out := []NotificationRule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetNotificationRule reads one rule, or ErrNotFound.
func (s *Store) GetNotificationRule(ctx context.Context, vault, name string) (NotificationRule, error) {
	r, err := scanRule(s.db.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM notification_rules WHERE vault = $1 AND name = $2`, vault, name))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("notification rule %q: %w", name, ErrNotFound)
	}
	return r, err
}

// DeleteNotificationRule deletes a rule and the deliveries it has not made yet; its delivery log
// stays.
func (s *Store) DeleteNotificationRule(ctx context.Context, vault, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM notification_rules WHERE vault = $1 AND name = $2`, vault, name)
		if err != nil {
			return fmt.Errorf("delete notification rule %q: %w", name, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, fmt.Errorf("notification rule %q: %w", name, ErrNotFound))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = $1, next_attempt = NULL, last_error = $2
			WHERE vault = $3 AND rule = $4 AND state = $5`, DeliveryFailed, "the rule was deleted", vault, name, DeliveryPending); err != nil {
			return fmt.Errorf("drop the pending deliveries of rule %q: %w", name, err)
		}
		return nil
	})
}

func scanRule(sc interface{ Scan(...any) error }) (NotificationRule, error) {
	var r NotificationRule
	var evs, channel string
	if err := sc.Scan(&r.Name, &evs, &channel, &r.Secret, &r.CreatedAt, &r.CreatedBy); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, err
		}
		return r, fmt.Errorf("read notification rule: %w", err)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	for _, t := range strings.Split(evs, ",") {
		if t != "" {
			r.Events = append(r.Events, events.Type(t))
		}
	}
	if err := json.Unmarshal([]byte(channel), &r.Channel); err != nil {
		return r, fmt.Errorf("decode the channel of rule %q: %w", r.Name, err)
	}
	return r, nil
}

func joinTypes(ts []events.Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

// RouteEvents makes the deliveries of the events not routed yet, of every vault, oldest first
// (at most limit): route names the rules of the event's vault that want it. Each event is marked
// routed with its deliveries, in one transaction; routing an event twice (two vault processes)
// makes its deliveries once. It returns how many events it routed.
func (s *Store) RouteEvents(ctx context.Context, limit int, route func(events.Event) []string, now time.Time) (int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventColumns+` FROM events e WHERE e.routed = FALSE ORDER BY e.id LIMIT $1`, limit)
	if err != nil {
		return 0, fmt.Errorf("read unrouted events: %w", err)
	}
	var pending []events.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		pending = append(pending, e)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("read unrouted events: %w", err)
	}
	if len(pending) == 0 {
		return 0, nil
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for _, e := range pending {
			for _, rule := range route(e) {
				if err := insertDelivery(ctx, tx, e, rule, now); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE events SET routed = TRUE WHERE id = $1`, e.ID); err != nil {
				return fmt.Errorf("mark event %d routed: %w", e.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(pending), nil
}

func insertDelivery(ctx context.Context, ex execer, e events.Event, rule string, now time.Time) error {
	if _, err := ex.ExecContext(ctx, `INSERT INTO deliveries (vault, rule, event, state, attempts, next_attempt, last_error, created_at)
		VALUES ($1, $2, $3, $4, 0, $5, '', $5) ON CONFLICT (vault, rule, event) DO NOTHING`, e.Vault, rule, e.ID, DeliveryPending, now.UTC()); err != nil {
		return fmt.Errorf("queue the delivery of event %d to rule %q: %w", e.ID, rule, err)
	}
	return nil
}

// QueueTestDelivery records a test event and its delivery through the rule only, and returns the
// delivery's ID.
func (s *Store) QueueTestDelivery(ctx context.Context, rule string, e events.Event, now time.Time) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		e.Type = events.Test
		if _, err := recordEvent(ctx, tx, e); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM events WHERE vault = $1 AND event_key = $2`, e.Vault, e.Key).Scan(&e.ID); err != nil {
			return fmt.Errorf("read back test event: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE events SET routed = TRUE WHERE id = $1`, e.ID); err != nil {
			return fmt.Errorf("mark test event routed: %w", err)
		}
		if err := insertDelivery(ctx, tx, e, rule, now); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT id FROM deliveries WHERE vault = $1 AND rule = $2 AND event = $3`, e.Vault, rule, e.ID).Scan(&id)
	})
	return id, err
}

const deliveryColumns = `d.id, d.rule, d.state, d.attempts, d.next_attempt, d.last_error, d.created_at, d.delivered_at`

func scanDelivery(sc interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var next, delivered sql.NullTime
	e, err := scanEvent(sc, &d.ID, &d.Rule, &d.State, &d.Attempts, &next, &d.LastError, &d.CreatedAt, &delivered)
	if err != nil {
		return d, err
	}
	d.Event, d.CreatedAt = e, d.CreatedAt.UTC()
	if next.Valid {
		t := next.Time.UTC()
		d.NextAttempt = &t
	}
	if delivered.Valid {
		t := delivered.Time.UTC()
		d.DeliveredAt = &t
	}
	return d, nil
}

const deliveryFrom = ` FROM deliveries d JOIN events e ON e.id = d.event`

// DueDeliveries lists the pending deliveries of every vault whose next attempt is due at now,
// most overdue first (at most limit).
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventColumns+`, `+deliveryColumns+deliveryFrom+`
		WHERE d.state = $1 AND d.next_attempt <= $2 ORDER BY d.next_attempt, d.id LIMIT $3`, DeliveryPending, now.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("read due deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TakeDelivery holds a delivery due at now for one attempt until until, so that no other vault
// process sends it meanwhile; ok is false when it is no longer as d was read (another took it).
func (s *Store) TakeDelivery(ctx context.Context, d Delivery, now, until time.Time) (ok bool, err error) {
	res, err := s.writes.ExecContext(ctx, `UPDATE deliveries SET next_attempt = $1
		WHERE id = $2 AND state = $3 AND attempts = $4 AND next_attempt <= $5`, until.UTC(), d.ID, DeliveryPending, d.Attempts, now.UTC())
	if err != nil {
		return false, fmt.Errorf("take delivery %d: %w", d.ID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Attempt is how one attempt at a delivery ended.
type Attempt struct {
	State       string     // DeliveryDelivered, DeliveryFailed, or DeliveryPending to try again
	NextAttempt *time.Time // when pending
	Error       string     // the attempt's error (empty when delivered)
	At          time.Time
}

// EndAttempt records how an attempt at delivery id ended.
func (s *Store) EndAttempt(ctx context.Context, id int64, a Attempt) error {
	var delivered, next any
	if a.State == DeliveryDelivered {
		delivered = a.At.UTC()
	}
	if a.State == DeliveryPending && a.NextAttempt != nil {
		next = a.NextAttempt.UTC()
	}
	if _, err := s.writes.ExecContext(ctx, `UPDATE deliveries SET state = $1, attempts = attempts + 1, next_attempt = $2,
		last_error = $3, delivered_at = $4 WHERE id = $5`, a.State, next, a.Error, delivered, id); err != nil {
		return fmt.Errorf("record the attempt at delivery %d: %w", id, err)
	}
	return nil
}

// DeliveryFilter narrows ListDeliveries; empty fields match everything.
type DeliveryFilter struct {
	Rule, State string
}

// ListDeliveries is a page of the vault's delivery log, newest first.
func (s *Store) ListDeliveries(ctx context.Context, vault string, f DeliveryFilter, page Page) (List[Delivery], error) {
	out := List[Delivery]{Items: []Delivery{}}
	limit, before, err := page.bounds()
	if err != nil {
		return out, err
	}
	var c conditions
	c.add("d.vault = ?", vault)
	c.addIf("d.rule = ?", f.Rule)
	c.addIf("d.state = ?", f.State)
	c.add("d.id < ?", before)
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventColumns+`, `+deliveryColumns+deliveryFrom+` WHERE `+c.where()+
		` ORDER BY d.id DESC LIMIT `+c.param(limit), c.args...)
	if err != nil {
		return out, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, d)
	}
	if n := len(out.Items); n > 0 {
		out.Next = next(n, limit, out.Items[n-1].ID)
	}
	return out, rows.Err()
}

// GetDelivery reads one delivery of the vault, or ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, vault string, id int64) (Delivery, error) {
	d, err := scanDelivery(s.db.QueryRowContext(ctx, `SELECT `+eventColumns+`, `+deliveryColumns+deliveryFrom+`
		WHERE d.vault = $1 AND d.id = $2`, vault, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("delivery %d: %w", id, ErrNotFound)
	}
	return d, err
}

// DeliveriesByState counts the vault's delivery log by state.
func (s *Store) DeliveriesByState(ctx context.Context, vault string) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM deliveries WHERE vault = $1 GROUP BY state`, vault)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		out[state] = n
	}
	return out, rows.Err()
}
