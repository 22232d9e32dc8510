package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/notify"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// maxRuleName is a DNS label's length.
const maxRuleName = 63

func (s *Server) listNotificationRules(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	rules, err := s.st.ListNotificationRules(r.Context(), p.Vault)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, vaultv1.List[vaultv1.NotificationRule]{Items: apiAll(rules, apiRule)})
}

func (s *Server) getNotificationRule(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	rule, err := s.st.GetNotificationRule(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiRule(rule))
}

// createNotificationRule validates the rule (its name, then every problem of its events and
// channel at once) before anything is stored.
func (s *Server) createNotificationRule(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var in vaultv1.NotificationRule
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := validateDNSLabel("name", in.Name, maxRuleName); err != nil {
		return err
	}
	rule := storeRule(in, p.Name, s.now())
	if err := notify.ValidateRule(rule); err != nil {
		return invalid(err)
	}
	if err := s.st.CreateNotificationRule(r.Context(), p.Vault, rule); err != nil {
		return err
	}
	stored, err := s.st.GetNotificationRule(r.Context(), p.Vault, rule.Name)
	if err != nil {
		return fmt.Errorf("read back the new notification rule: %w", err)
	}
	w.Header().Set("Location", "/api/v1/notification-rules/"+url.PathEscape(stored.Name))
	return writeJSON(w, http.StatusCreated, apiRule(stored))
}

func (s *Server) deleteNotificationRule(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	if err := s.st.DeleteNotificationRule(r.Context(), p.Vault, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// testNotificationRule sends a test notification through the rule now and answers with its
// delivery: delivered, or failed with the channel's error (a test is not retried).
func (s *Server) testNotificationRule(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	rule, err := s.st.GetNotificationRule(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	now := s.now().UTC()
	e := events.Event{Vault: p.Vault, Key: fmt.Sprintf("test/%s/%d", rule.Name, now.UnixNano()), At: now,
		Summary: fmt.Sprintf("test notification of rule %q, sent by %s: this channel works", rule.Name, p.Name),
		Details: []events.Detail{{Name: "requestedBy", Value: p.Name}}}
	id, err := s.st.QueueTestDelivery(r.Context(), rule.Name, e, now)
	if err != nil {
		return err
	}
	d, err := s.notifier.Send(r.Context(), p.Vault, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiDelivery(d))
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.DeliveryFilter{Rule: q.Get("rule"), State: q.Get("state")}
	if f.State != "" && !slices.Contains(vaultv1.DeliveryStates, f.State) {
		return badRequest(fmt.Sprintf("state: %q is not a delivery state; use %s", f.State, humanize.OrList(vaultv1.DeliveryStates)), "state")
	}
	list, err := s.st.ListDeliveries(r.Context(), p.Vault, f, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiList(list, apiDelivery))
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return badRequest(fmt.Sprintf("delivery ID %q is not a positive number", r.PathValue("id")), "id")
	}
	d, err := s.st.GetDelivery(r.Context(), p.Vault, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiDelivery(d))
}
