package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/store"
)

// contentStore keeps the files fetch jobs upload in the vault's database, where any replica
// serves them, until their one download or until ttl passed on the API's clock.
type contentStore struct {
	st  *store.Store
	ttl time.Duration
	now func() time.Time
	log *slog.Logger
}

func (s *Server) content() *contentStore {
	return &contentStore{st: s.st, ttl: s.cfg.ContentTTL, now: s.now, log: s.log}
}

// put stores job id's file from body (at most MaxFetchBytes, which the request's limit enforces),
// in parts; it is whole, and downloadable, once every part is stored.
func (c *contentStore) put(ctx context.Context, vault string, id int64, body io.Reader) error {
	c.sweep(ctx)
	buf := make([]byte, store.FetchedPartBytes)
	var size int64
	parts := 0
	for {
		n, err := io.ReadFull(body, buf)
		if n > 0 {
			if perr := c.st.PutFetchedPart(ctx, vault, id, parts, buf[:n], c.now()); perr != nil {
				return errors.Join(perr, c.st.DiscardFetchedFile(context.WithoutCancel(ctx), vault, id))
			}
			parts++
			size += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			derr := c.st.DiscardFetchedFile(context.WithoutCancel(ctx), vault, id)
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return errors.Join(tooLarge(), derr)
			}
			return errors.Join(fmt.Errorf("store a fetched file: %w", err), derr)
		}
	}
	return c.st.FinishFetchedFile(ctx, vault, id, size, parts, c.now())
}

// serve writes job id's file as an attachment named after filePath, and deletes it.
func (c *contentStore) serve(w http.ResponseWriter, r *http.Request, vault string, id int64, filePath string) error {
	ctx := r.Context()
	c.sweep(ctx)
	size, parts, ok, err := c.st.TakeFetchedFile(ctx, vault, id, c.now().Add(-c.ttl))
	if err != nil {
		return err
	}
	if !ok {
		return &apiError{status: http.StatusGone, code: "gone", message: fmt.Sprintf("the file of job %d was downloaded already or expired: fetch it again", id)}
	}
	// Taken: whatever happens below, the parts go.
	defer func() {
		if err := c.st.DiscardFetchedFile(context.WithoutCancel(ctx), vault, id); err != nil {
			c.log.WarnContext(ctx, "the parts of a downloaded file were not deleted: the next sweep deletes them", "vault", vault, "job", id, "error", err.Error())
		}
	}()
	base := path.Base("/" + filePath)
	if base == "/" || base == "." {
		base = "file"
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": base}))
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	for n := range parts {
		data, err := c.st.FetchedPart(ctx, vault, id, n)
		if err != nil {
			// The status is sent: a short body tells the client (its Content-Length is not met).
			c.log.WarnContext(ctx, "a fetched file's download was cut short", "vault", vault, "job", id, "error", err.Error())
			return nil
		}
		if _, err := w.Write(data); err != nil {
			return nil // the client went away; the file is gone either way
		}
	}
	return nil
}

// sweep deletes the files older than the TTL, and parts no whole file holds.
func (c *contentStore) sweep(ctx context.Context) {
	n, err := c.st.SweepFetchedFiles(ctx, c.now().Add(-c.ttl))
	if err != nil {
		c.log.WarnContext(ctx, "expired fetched files not deleted", "error", err.Error())
		return
	}
	if n > 0 {
		c.log.InfoContext(ctx, "expired fetched files deleted", "files", n)
	}
}
