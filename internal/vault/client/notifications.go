package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// ListNotificationRules lists the vault's notification rules by name.
func (c *Client) ListNotificationRules(ctx context.Context) ([]vaultv1.NotificationRule, error) {
	var out vaultv1.List[vaultv1.NotificationRule]
	return out.Items, c.do(ctx, http.MethodGet, "/api/v1/notification-rules", nil, &out)
}

// GetNotificationRule reads one rule.
func (c *Client) GetNotificationRule(ctx context.Context, name string) (vaultv1.NotificationRule, error) {
	var out vaultv1.NotificationRule
	return out, c.do(ctx, http.MethodGet, "/api/v1/notification-rules/"+url.PathEscape(name), nil, &out)
}

// CreateNotificationRule creates a rule and returns it as stored.
func (c *Client) CreateNotificationRule(ctx context.Context, r vaultv1.NotificationRule) (vaultv1.NotificationRule, error) {
	var out vaultv1.NotificationRule
	return out, c.do(ctx, http.MethodPost, "/api/v1/notification-rules", r, &out)
}

// DeleteNotificationRule deletes a rule.
func (c *Client) DeleteNotificationRule(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/notification-rules/"+url.PathEscape(name), nil, nil)
}

// TestNotificationRule sends a test notification through the rule and returns its delivery.
func (c *Client) TestNotificationRule(ctx context.Context, name string) (vaultv1.Delivery, error) {
	var out vaultv1.Delivery
	return out, c.do(ctx, http.MethodPost, "/api/v1/notification-rules/"+url.PathEscape(name)+"/test", nil, &out)
}

// DeliveryFilter selects a page of the delivery log (newest first); empty fields match all.
type DeliveryFilter struct {
	Rule, State string
	Limit       int
	Cursor      string
}

// ListDeliveries lists one page of the delivery log.
func (c *Client) ListDeliveries(ctx context.Context, f DeliveryFilter) (vaultv1.List[vaultv1.Delivery], error) {
	q := pageQuery(f.Limit, f.Cursor)
	q.Set("rule", f.Rule)
	q.Set("state", f.State)
	var out vaultv1.List[vaultv1.Delivery]
	return out, c.do(ctx, http.MethodGet, withQuery("/api/v1/notifications", q), nil, &out)
}

// GetDelivery reads one delivery.
func (c *Client) GetDelivery(ctx context.Context, id int64) (vaultv1.Delivery, error) {
	var out vaultv1.Delivery
	return out, c.do(ctx, http.MethodGet, "/api/v1/notifications/"+strconv.FormatInt(id, 10), nil, &out)
}
