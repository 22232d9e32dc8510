// Package client calls the vault's REST API (docs/design/vault.md) for the CLI.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
)

// Client talks to one vault with one token.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// APIError is an error the vault answered with.
type APIError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("vault: %s (%d %s)", e.Message, e.Status, e.Code)
}

// StatusOf is the HTTP status of the vault's answer that err reports, or 0 when the vault was
// not reached (a network error) or err is not the vault's.
func StatusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// CodeOf is the error code of the vault's answer that err reports ("" if none).
func CodeOf(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Transient tells whether a call that failed with err may succeed when repeated: network errors,
// throttling and server errors.
func Transient(err error) bool {
	s := StatusOf(err)
	return s == 0 || s == http.StatusTooManyRequests || s >= 500
}

// New returns a client for the vault at baseURL (e.g. https://vault.example:8443).
func New(baseURL, token string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("vault URL %q: use http(s)://HOST:PORT", baseURL)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, token: token, http: httpClient}, nil
}

// WhoAmI is the principal of the client's token.
type WhoAmI struct {
	Vault string `json:"vault"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

// WhoAmI asks the vault who the token is.
func (c *Client) WhoAmI(ctx context.Context) (WhoAmI, error) {
	var w WhoAmI
	return w, c.do(ctx, http.MethodGet, "/api/v1/whoami", nil, &w)
}

// ListPolicies lists the vault's policies.
func (c *Client) ListPolicies(ctx context.Context) ([]policy.Policy, error) {
	var out struct {
		Items []policy.Policy `json:"items"`
	}
	return out.Items, c.do(ctx, http.MethodGet, "/api/v1/policies", nil, &out)
}

// GetPolicy reads one policy.
func (c *Client) GetPolicy(ctx context.Context, name string) (policy.Policy, error) {
	var p policy.Policy
	return p, c.do(ctx, http.MethodGet, "/api/v1/policies/"+url.PathEscape(name), nil, &p)
}

// CreatePolicy creates a policy.
func (c *Client) CreatePolicy(ctx context.Context, p policy.Policy) (policy.Policy, error) {
	var out policy.Policy
	return out, c.do(ctx, http.MethodPost, "/api/v1/policies", p, &out)
}

// DeletePolicy deletes a policy.
func (c *Client) DeletePolicy(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/policies/"+url.PathEscape(name), nil, nil)
}

// URL is the vault's base URL, as the client was given it (without a trailing slash).
func (c *Client) URL() string { return c.base.String() }

// pageQuery returns the query of one page of a list: limit items at most (0: the vault's default
// of 100; at most 1000) from cursor (a List's Next; empty: the first page).
func pageQuery(limit int, cursor string) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	q.Set("cursor", cursor)
	return q
}

// withQuery appends q's non-empty parameters to path.
func withQuery(path string, q url.Values) string {
	for k, v := range q {
		if len(v) == 0 || v[0] == "" {
			delete(q, k)
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// do calls the vault and decodes a 2xx answer into out (nil: ignored).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	_, _, err := c.send(ctx, method, path, nil, in, out)
	return err
}

// maxAnswerBytes bounds what the client reads of an answer (a page of job log lines is the
// largest: up to 5,000 lines of 8 KiB).
const maxAnswerBytes = 64 << 20

// send makes one call with the extra request headers and decodes a 2xx answer with a body into
// out. It returns the status and the answer's headers; an answer of 300 or more is an *APIError.
func (c *Client) send(ctx context.Context, method, path string, header http.Header, in, out any) (int, http.Header, error) {
	var body io.Reader
	raw, isRaw := in.(rawBody)
	if isRaw {
		body = raw.r
	} else if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return 0, nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	switch {
	case isRaw:
		req.Header.Set("Content-Type", "application/octet-stream")
		req.ContentLength = raw.size
	case in != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("reach the vault at %s: %w", c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return resp.StatusCode, resp.Header, fmt.Errorf("read the vault's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, resp.Header, apiErrorOf(resp.StatusCode, data)
	}
	if resp.StatusCode == http.StatusAccepted && resp.Header.Get(vaultv1.HeaderApprovalRequest) != "" {
		pending := &ApprovalPending{}
		if err := json.Unmarshal(data, &pending.Request); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("decode the vault's approval request: %w", err)
		}
		return resp.StatusCode, resp.Header, pending
	}
	if out == nil || len(data) == 0 || resp.StatusCode == http.StatusNoContent {
		return resp.StatusCode, resp.Header, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.StatusCode, resp.Header, fmt.Errorf("decode the vault's answer: %w", err)
	}
	return resp.StatusCode, resp.Header, nil
}

// rawBody is a request body sent as it is (application/octet-stream) instead of as JSON.
type rawBody struct {
	r    io.Reader
	size int64
}

// apiErrorOf is the error of an answer with status (300 or more) and body data.
func apiErrorOf(status int, data []byte) *APIError {
	var e struct {
		Error APIError `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil || e.Error.Message == "" {
		e.Error.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	e.Error.Status = status
	return &e.Error
}
