package api

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// contentStore keeps the files fetch jobs upload in a directory until their one download, or
// until ttl passed on the API's clock: one file per job, named after the vault and the job,
// written under a temporary name and renamed when whole, its modification time the upload's.
type contentStore struct {
	dir string
	ttl time.Duration
	now func() time.Time
	log *slog.Logger
}

func (s *Server) content() *contentStore {
	return &contentStore{dir: s.cfg.ContentDir, ttl: s.cfg.ContentTTL, now: s.now, log: s.log}
}

// partSuffix marks a file still being uploaded.
const partSuffix = ".part"

func (c *contentStore) name(vault string, id int64) string {
	return filepath.Join(c.dir, hex.EncodeToString([]byte(vault))+"-"+strconv.FormatInt(id, 10))
}

// put stores job id's file from body (at most MaxFetchBytes, which the request's limit enforces).
func (c *contentStore) put(vault string, id int64, body io.Reader) error {
	c.sweep()
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("create the content directory: %w", err)
	}
	final := c.name(vault, id)
	f, err := os.OpenFile(final+partSuffix, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("store a fetched file: %w", err)
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		at := c.now()
		err = os.Chtimes(final+partSuffix, at, at)
	}
	if err == nil {
		err = os.Rename(final+partSuffix, final)
	}
	if err != nil {
		_ = os.Remove(final + partSuffix)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge()
		}
		return fmt.Errorf("store a fetched file: %w", err)
	}
	return nil
}

// serve writes job id's file as an attachment named after filePath, and deletes it.
func (c *contentStore) serve(w http.ResponseWriter, vault string, id int64, filePath string) error {
	c.sweep()
	name := c.name(vault, id)
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return &apiError{status: http.StatusGone, code: "gone", message: fmt.Sprintf("the file of job %d was downloaded already or expired: fetch it again", id)}
	}
	if err != nil {
		return fmt.Errorf("open the file of job %d: %w", id, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open the file of job %d: %w", id, err)
	}
	// Served once: the open file stays readable after its name is gone.
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("remove the file of job %d: %w", id, err)
	}
	base := path.Base("/" + filePath)
	if base == "/" || base == "." {
		base = "file"
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": base}))
	h.Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	w.WriteHeader(http.StatusOK)
	// A failed copy means the client went away; the file is gone either way.
	_, _ = io.Copy(w, f)
	return nil
}

// sweep deletes the files older than the TTL. Uploads in progress are left alone (their
// modification time is the writes', not the API clock's); one a crash left is removed with the
// directory when the vault starts again.
func (c *contentStore) sweep() {
	if c.dir == "" {
		return
	}
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("cannot list the fetched files", "dir", c.dir, "error", err.Error())
		}
		return
	}
	cutoff := c.now().Add(-c.ttl)
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || strings.HasSuffix(e.Name(), partSuffix) || !info.ModTime().Before(cutoff) {
			continue
		}
		p := filepath.Join(c.dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("cannot remove an expired fetched file", "file", p, "error", err.Error())
			continue
		}
		c.log.Info("expired fetched file removed", "file", e.Name(), "uploaded", info.ModTime())
	}
}
