package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

func TestBadInputWritesNothing(t *testing.T) {
	f := newFixture(t)
	nightly := f.createPolicy(t, "prod", "nightly")
	contributor := f.tokens[access.RoleContributor]
	oversized := `{"name":"` + strings.Repeat("a", maxBodyBytes) + `","schedule":{"everyHours":4},"retention":{"default":"7d"}}`

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, field, message     string
	}{
		{"malformed JSON", "POST", "/api/v1/policies", `{"name":`, 400, "bad_request", "", "unexpected EOF"},
		{"not an object", "POST", "/api/v1/policies", `[1]`, 400, "bad_request", "", "cannot unmarshal array"},
		{"empty body", "POST", "/api/v1/policies", ``, 400, "bad_request", "", "request body: empty"},
		{"unknown field", "POST", "/api/v1/policies",
			`{"name":"x","schedule":{"everyHours":4},"retention":{"default":"7d"},"color":"red"}`, 400, "bad_request", "", `unknown field "color"`},
		{"unknown nested field", "POST", "/api/v1/policies",
			`{"name":"x","schedule":{"everyHours":4,"every":2},"retention":{"default":"7d"}}`, 400, "bad_request", "", `unknown field "every"`},
		{"wrong type", "POST", "/api/v1/policies",
			`{"name":"x","schedule":{"everyHours":"4"},"retention":{"default":"7d"}}`, 400, "bad_request", "schedule.everyHours", "cannot unmarshal string"},
		{"bad duration", "POST", "/api/v1/policies",
			`{"name":"x","schedule":{"everyHours":4},"retention":{"default":"7x"}}`, 400, "bad_request", "", `duration "7x": unknown unit "x"`},
		{"trailing data", "POST", "/api/v1/policies", validPolicyJSON(t, "x") + `{}`, 400, "bad_request", "", "unexpected data after the JSON object"},
		{"everyHours 3", "POST", "/api/v1/policies",
			`{"name":"x","schedule":{"everyHours":3},"retention":{"default":"7d"}}`, 422, "invalid", "schedule.everyHours", "schedule.everyHours 3: use 1, 2, 4, 6, 8 or 12"},
		{"retention shorter than the interval", "POST", "/api/v1/policies",
			`{"name":"x","schedule":{"everyHours":12},"retention":{"default":"6h"}}`, 422, "invalid", "retention.default",
			"retention.default 6h is shorter than the schedule's interval 12h"},
		{"every problem", "POST", "/api/v1/policies",
			`{"name":"Bad_Name","schedule":{"everyHours":3},"retention":{}}`, 422, "invalid", "name",
			`name "Bad_Name": must be a DNS label (1-63 characters a-z, 0-9 or -, starting and ending with a letter or digit); ` +
				`schedule.everyHours 3: use 1, 2, 4, 6, 8 or 12; retention.default: required (e.g. "7d")`},
		{"name missing", "POST", "/api/v1/policies", `{"schedule":{"everyHours":4},"retention":{"default":"7d"}}`, 422, "invalid", "name", "name: required"},
		{"duplicate policy", "POST", "/api/v1/policies", validPolicyJSON(t, "nightly"), 409, "conflict", "", `policy "nightly": already exists`},
		{"oversized body", "POST", "/api/v1/policies", oversized, 413, "too_large", "", "larger than 1048576 bytes"},
		{"oversized trailing data", "POST", "/api/v1/policies", validPolicyJSON(t, "x") + strings.Repeat(" ", maxBodyBytes), 413, "too_large", "", "larger than"},
		{"unknown policy", "GET", "/api/v1/policies/weekly", "", 404, "not_found", "", `policy "weekly": not found`},
		{"delete unknown policy", "DELETE", "/api/v1/policies/weekly", "", 404, "not_found", "", `policy "weekly": not found`},
		{"token bad role", "POST", "/api/v1/tokens", `{"name":"ci","role":"admin"}`, 422, "invalid", "role", `role "admin": use reader, operator or contributor`},
		{"token no role", "POST", "/api/v1/tokens", `{"name":"ci"}`, 422, "invalid", "role", `role "": use reader, operator or contributor`},
		{"token no name", "POST", "/api/v1/tokens", `{"role":"reader"}`, 422, "invalid", "name", "name: required"},
		{"token unknown field", "POST", "/api/v1/tokens", `{"name":"ci","role":"reader","expires":"1d"}`, 400, "bad_request", "", `unknown field "expires"`},
		{"token duplicate", "POST", "/api/v1/tokens", `{"name":"reader-user","role":"reader"}`, 409, "conflict", "", `token "reader-user": already exists`},
		{"token oversized", "POST", "/api/v1/tokens", `{"name":"` + strings.Repeat("a", maxBodyBytes) + `","role":"reader"}`, 413, "too_large", "", "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.do(t, tc.method, tc.path, contributor, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			e := decodeErrorBody(t, rec)
			if e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.message) {
				t.Errorf("error %+v\nwant code %q, field %q, message containing %q", e, tc.code, tc.field, tc.message)
			}
			// Nothing was written: the vault still holds exactly nightly and the fixture's tokens.
			rec = f.do(t, "GET", "/api/v1/policies", contributor, "")
			var list policyList
			if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || !reflect.DeepEqual(list.Items, []policy.Policy{nightly}) {
				t.Errorf("policies afterwards: %s (%v)", rec.Body, err)
			}
			if n, err := f.st.CountTokens(t.Context(), "prod"); err != nil || n != len(roles) {
				t.Errorf("tokens afterwards: %d (%v)", n, err)
			}
		})
	}
}

// TestRoundTrip goes through a real HTTP server: create → get → list → delete → 404, then a
// token made through the API works for its role.
func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.h)
	defer ts.Close()
	contributor := f.tokens[access.RoleContributor]

	call := func(method, path, token, body string, wantStatus int, out any) http.Header {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, r)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, wantStatus, raw)
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, raw)
			}
		}
		return resp.Header
	}

	// Written as the client would, with durations in other units than the canonical ones.
	const nightlyJSON = `{"name":"nightly","schedule":{"dailyAt":"02:30","timeZone":"Europe/Berlin"},` +
		`"retention":{"default":"7d","weekly":"28d","monthly":"365d","keepLast":3}}`
	want := policy.Policy{
		Name:     "nightly",
		Schedule: policy.Schedule{DailyAt: "02:30", TimeZone: "Europe/Berlin"},
		Retention: policy.Retention{
			Default: mustDuration(t, "1w"), Weekly: mustDuration(t, "4w"), Monthly: mustDuration(t, "1y"), KeepLast: 3,
		},
	}
	var created policy.Policy
	h := call("POST", "/api/v1/policies", contributor, nightlyJSON, http.StatusCreated, &created)
	if created != want || h.Get("Location") != "/api/v1/policies/nightly" {
		t.Fatalf("created %+v (Location %q), want %+v", created, h.Get("Location"), want)
	}
	call("POST", "/api/v1/policies", contributor, validPolicyJSON(t, "hourly"), http.StatusCreated, nil)
	call("POST", "/api/v1/policies", contributor, validPolicyJSON(t, "audit"), http.StatusCreated, nil)

	var got policy.Policy
	call("GET", "/api/v1/policies/nightly", f.tokens[access.RoleReader], "", http.StatusOK, &got)
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	var list policyList
	call("GET", "/api/v1/policies", f.tokens[access.RoleReader], "", http.StatusOK, &list)
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	if fmt.Sprint(names) != "[audit hourly nightly]" || list.Items[2] != want {
		t.Fatalf("list %+v", list.Items)
	}

	call("DELETE", "/api/v1/policies/nightly", contributor, "", http.StatusNoContent, nil)
	call("GET", "/api/v1/policies/nightly", contributor, "", http.StatusNotFound, nil)
	call("DELETE", "/api/v1/policies/nightly", contributor, "", http.StatusNotFound, nil)

	var tok vaultv1.NewToken
	call("POST", "/api/v1/tokens", contributor, `{"name":"ci","role":"operator"}`, http.StatusCreated, &tok)
	f.secrets = append(f.secrets, tok.Token)
	if tok.Name != "ci" || tok.Role != access.RoleOperator || !strings.HasPrefix(tok.Token, "cairn_") {
		t.Fatalf("token %+v", tok)
	}
	var who whoAmIResponse
	call("GET", "/api/v1/whoami", tok.Token, "", http.StatusOK, &who)
	if who != (whoAmIResponse{Vault: "prod", Name: "ci", Role: access.RoleOperator}) {
		t.Fatalf("whoami %+v", who)
	}
	call("GET", "/api/v1/policies", tok.Token, "", http.StatusOK, nil)
	call("POST", "/api/v1/policies", tok.Token, validPolicyJSON(t, "weekly"), http.StatusForbidden, nil)
	call("POST", "/api/v1/tokens", tok.Token, `{"name":"ci2","role":"reader"}`, http.StatusForbidden, nil)
}

func mustDuration(t *testing.T, s string) policy.Duration {
	t.Helper()
	d, err := policy.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
