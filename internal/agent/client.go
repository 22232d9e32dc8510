package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// client makes the agent's calls to the vault (docs/design/vault.md, "Agent protocol").
type client struct {
	base        *url.URL
	token       string
	http        *http.Client
	callTimeout time.Duration
}

// apiError is an answer of the vault other than the expected one.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != "" {
		return fmt.Sprintf("vault answered %d %s: %s", e.Status, e.Code, msg)
	}
	return fmt.Sprintf("vault answered %d: %s", e.Status, msg)
}

// statusOf is the HTTP status of a vault answer, or 0 for a network error.
func statusOf(err error) int {
	var e *apiError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// transient tells whether a call that failed with err may succeed when repeated: network errors,
// throttling and server errors.
func transient(err error) bool {
	s := statusOf(err)
	return s == 0 || s == http.StatusTooManyRequests || s >= 500
}

func newClient(baseURL, token string, hc *http.Client, callTimeout time.Duration) (*client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("vault URL %q: use http(s)://HOST:PORT (--vault)", baseURL)
	}
	return &client{base: u, token: token, http: hc, callTimeout: callTimeout}, nil
}

// heartbeat tells the vault the agent is alive.
func (c *client) heartbeat(ctx context.Context, hb wire.Heartbeat) error {
	_, err := c.do(ctx, "/api/v1/agent/heartbeat", hb, nil, true)
	return err
}

// claimTimeout bounds a claim, whatever the HTTP client's timeout: the vault answers within its
// long poll (about 25s).
const claimTimeout = 90 * time.Second

// claim asks for the next job; nil without error means none was queued during the long poll.
func (c *client) claim(ctx context.Context) (*wire.Job, error) {
	ctx, cancel := context.WithTimeout(ctx, claimTimeout)
	defer cancel()
	var job wire.Job
	status, err := c.do(ctx, "/api/v1/agent/claim", nil, &job, false)
	if err != nil || status == http.StatusNoContent {
		return nil, err
	}
	return &job, nil
}

// progress renews the job's lease and hands over progress and log lines.
func (c *client) progress(ctx context.Context, id int64, rep wire.ProgressReport) (wire.ProgressReply, error) {
	var reply wire.ProgressReply
	_, err := c.do(ctx, fmt.Sprintf("/api/v1/agent/jobs/%d/progress", id), rep, &reply, true)
	return reply, err
}

// complete reports a finished job.
func (c *client) complete(ctx context.Context, id int64, comp wire.Completion) error {
	_, err := c.do(ctx, fmt.Sprintf("/api/v1/agent/jobs/%d/complete", id), comp, nil, true)
	return err
}

// do POSTs body (nil: empty) to path and decodes a 200 answer into out. bounded applies the
// call timeout (the claim's long poll sets its own).
func (c *client) do(ctx context.Context, path string, body, out any, bounded bool) (int, error) {
	if bounded {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.callTimeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode %s: %w", path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, rd)
	if err != nil {
		return 0, fmt.Errorf("call the vault: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("call the vault at %s: %w", c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read the vault's answer to %s: %w", path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return resp.StatusCode, nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if out == nil || len(data) == 0 {
			return resp.StatusCode, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode the vault's answer to %s: %w", path, err)
		}
		return resp.StatusCode, nil
	}
	e := &apiError{Status: resp.StatusCode}
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &eb) == nil {
		e.Code, e.Message, e.Field = eb.Error.Code, eb.Error.Message, eb.Error.Field
	} else {
		e.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	return resp.StatusCode, e
}
