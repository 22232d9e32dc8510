package client

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// BrowseVolume lists directory path of the copy of claim namespace/claim in recovery point rp,
// through the agent of its cluster. The job comes back ended (its result's Browse is the
// listing, or its error says why not) or, when the agent takes longer than the vault waits,
// running: poll GetJob.
func (c *Client) BrowseVolume(ctx context.Context, rp, namespace, claim, path string) (vaultv1.Job, error) {
	var out vaultv1.Job
	return out, c.do(ctx, http.MethodPost, volumePath(rp, namespace, claim, "browse"), vaultv1.BrowseRequest{Path: path}, &out)
}

// FetchFile has the agent read the regular file at path of the copy of claim namespace/claim in
// recovery point rp and hand it to the vault; once the job succeeded, JobContent downloads it.
func (c *Client) FetchFile(ctx context.Context, rp, namespace, claim, path string) (vaultv1.Job, error) {
	var out vaultv1.Job
	return out, c.do(ctx, http.MethodPost, volumePath(rp, namespace, claim, "fetch"), vaultv1.FetchRequest{Path: path}, &out)
}

func volumePath(rp, namespace, claim, verb string) string {
	return "/api/v1/recovery-points/" + url.PathEscape(rp) + "/volumes/" + url.PathEscape(namespace) + "/" + url.PathEscape(claim) + "/" + verb
}

// Content is a fetched file being downloaded; the caller closes Body.
type Content struct {
	Body io.ReadCloser
	// Name is the file's name (from Content-Disposition); Size its length (-1: unknown).
	Name string
	Size int64
}

// JobContent downloads the file fetch job id read. The vault serves it once, to the principal
// who asked for it.
func (c *Client) JobContent(ctx context.Context, id int64) (*Content, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/v1/jobs/%d/content", c.base.String(), id), nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the vault at %s: %w", c.base.Redacted(), err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return nil, fmt.Errorf("read the vault's answer: %w", err)
		}
		return nil, apiErrorOf(resp.StatusCode, data)
	}
	out := &Content{Body: resp.Body, Size: resp.ContentLength, Name: "file"}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil && params["filename"] != "" {
		out.Name = params["filename"]
	}
	return out, nil
}
