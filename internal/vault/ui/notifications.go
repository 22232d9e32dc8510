package ui

import (
	"net/http"
	"net/url"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// notificationsData is the notifications page: every rule, and a page of the delivery log.
type notificationsData struct {
	Rules []vaultv1.NotificationRule
	listData[vaultv1.Delivery]
}

func (s *Server) notifications(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	rules, err := c.ListNotificationRules(r.Context())
	if err != nil {
		return err
	}
	f := filters(r, "rule", "state")
	log, err := c.ListDeliveries(r.Context(), client.DeliveryFilter{Rule: f["rule"], State: f["state"], Limit: pageSize, Cursor: cursor(r)})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "notifications", "", view{Title: "Notifications", Nav: "notifications", Session: sess,
		Data: notificationsData{Rules: rules, listData: listData[vaultv1.Delivery]{Items: log.Items, Filter: f, Pager: newPager(r, log.Next)}}})
	return nil
}

// testNotification sends a test notification through the rule and shows the rule's delivery
// log, the test's delivery first.
func (s *Server) testNotification(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	name := r.PathValue("name")
	if _, err := c.TestNotificationRule(r.Context(), name); err != nil {
		return err
	}
	http.Redirect(w, r, "/notifications?rule="+url.QueryEscape(name), http.StatusSeeOther)
	return nil
}
