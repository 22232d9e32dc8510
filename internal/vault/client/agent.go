package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// Agent makes an agent's calls to the vault (the agent protocol, api/agentv1) with the token of
// its cluster's trust grant. Every call says which protocol the agent speaks and which job kinds
// it runs; every answer tells what the vault speaks (Vault).
type Agent struct {
	c           *Client
	header      http.Header
	callTimeout time.Duration

	mu    sync.Mutex
	vault agentv1.Peer
	heard bool
}

// ClaimTimeout bounds a claim, whatever the HTTP client's timeout: the vault answers within its
// long poll (about 25s).
const ClaimTimeout = 90 * time.Second

// NewAgent returns the agent client of the vault at baseURL. kinds are the job kinds the agent
// runs; callTimeout bounds every call but the claim, whose long poll ClaimTimeout bounds.
func NewAgent(baseURL, token string, hc *http.Client, kinds []string, callTimeout time.Duration) (*Agent, error) {
	c, err := New(baseURL, token, hc)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	agentv1.SetAgentHeaders(h, kinds)
	return &Agent{c: c, header: h, callTimeout: callTimeout, vault: agentv1.Peer{Protocol: 1}}, nil
}

// URL is the vault's base URL without any credentials it may hold.
func (a *Agent) URL() string { return a.c.base.Redacted() }

// Vault is what the vault said of itself in its last answer, and whether it answered yet.
func (a *Agent) Vault() (agentv1.Peer, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.vault, a.heard
}

// Heartbeat tells the vault the agent is alive.
func (a *Agent) Heartbeat(ctx context.Context, hb agentv1.Heartbeat) error {
	_, err := a.post(ctx, "/api/v1/agent/heartbeat", hb, nil, true)
	return err
}

// Claim asks for the next job; nil without error means none was queued during the long poll.
func (a *Agent) Claim(ctx context.Context) (*agentv1.Job, error) {
	ctx, cancel := context.WithTimeout(ctx, ClaimTimeout)
	defer cancel()
	var job agentv1.Job
	status, err := a.post(ctx, "/api/v1/agent/claim", nil, &job, false)
	if err != nil || status == http.StatusNoContent {
		return nil, err
	}
	return &job, nil
}

// Progress renews the job's lease and hands over progress and log lines.
func (a *Agent) Progress(ctx context.Context, id int64, rep agentv1.ProgressReport) (agentv1.ProgressReply, error) {
	var reply agentv1.ProgressReply
	_, err := a.post(ctx, fmt.Sprintf("/api/v1/agent/jobs/%d/progress", id), rep, &reply, true)
	return reply, err
}

// Complete reports a finished job.
func (a *Agent) Complete(ctx context.Context, id int64, comp agentv1.Completion) error {
	_, err := a.post(ctx, fmt.Sprintf("/api/v1/agent/jobs/%d/complete", id), comp, nil, true)
	return err
}

// ContentTimeout bounds the upload of a fetch job's file (at most agentv1.MaxFetchBytes).
const ContentTimeout = 10 * time.Minute

// UploadContent sends the file a fetch job read: size bytes from r. An error r returns aborts the
// upload, and the vault keeps nothing of it.
func (a *Agent) UploadContent(ctx context.Context, id, size int64, r io.Reader) error {
	ctx, cancel := context.WithTimeout(ctx, ContentTimeout)
	defer cancel()
	_, err := a.call(ctx, http.MethodPut, fmt.Sprintf("/api/v1/agent/jobs/%d/content", id), rawBody{r: r, size: size}, nil)
	return err
}

// post makes one agent call; bounded applies the call timeout. It notes what the answer says of
// the vault.
func (a *Agent) post(ctx context.Context, path string, in, out any, bounded bool) (int, error) {
	if bounded {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.callTimeout)
		defer cancel()
	}
	return a.call(ctx, http.MethodPost, path, in, out)
}

// call makes one agent call and notes what the answer says of the vault.
func (a *Agent) call(ctx context.Context, method, path string, in, out any) (int, error) {
	status, h, err := a.c.send(ctx, method, path, a.header, in, out)
	if h != nil {
		a.mu.Lock()
		a.vault, a.heard = agentv1.VaultPeer(h), true
		a.mu.Unlock()
	}
	return status, err
}
