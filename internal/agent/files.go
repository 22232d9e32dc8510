package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/files"
	"github.com/cairnbackup/cairn/internal/humanize"
)

// The jobs that read a volume's copy for the vault (docs/design/vault.md, "Browsing a volume's
// copy"): browse lists a directory, fetch uploads one file.

// openVolumeCopy opens the repository of a recovery point and the file snapshot of the claim's copy.
func (a *agent) openVolumeCopy(ctx context.Context, j *jobRun, v agentv1.VolumePath) (*files.Store, *filerepo.Snapshot, error) {
	repo, err := a.openRecoveryPoint(ctx, j, v.RecoveryPoint, v.Storage)
	if err != nil {
		return nil, nil, err
	}
	st, err := files.Open(repo, files.Options{Clock: a.now, Logger: j.log})
	if err != nil {
		return nil, nil, fmt.Errorf("open the file store: %w", err)
	}
	snap, err := st.VolumeSnapshot(ctx, v.RecoveryPoint, v.Namespace, v.Claim)
	if err != nil {
		return nil, nil, err
	}
	return st, snap, nil
}

// cleanPath is a path inside a volume, without leading slash ("" is the root).
func cleanPath(p string) string { return path.Clean("/" + p)[1:] }

// runBrowse lists one directory of a volume's copy, at most MaxBrowseEntries entries.
func (a *agent) runBrowse(ctx context.Context, j *jobRun, spec *agentv1.BrowseJob) outcome {
	st, snap, err := a.openVolumeCopy(ctx, j, spec.VolumePath)
	if err != nil {
		return failed(nil, err)
	}
	p := cleanPath(spec.Path)
	entries, err := st.List(ctx, snap, p, false)
	if err != nil {
		return failed(nil, fmt.Errorf("list %s/%s:/%s in recovery point %s: %w", spec.Namespace, spec.Claim, p, spec.RecoveryPoint, err))
	}
	res := browseResult(p, entries)
	j.progress(int64(len(res.Entries)), 0, "listed")
	j.log.Info("listed a directory of a volume's copy", "recoveryPoint", spec.RecoveryPoint, "namespace", spec.Namespace,
		"claim", spec.Claim, "path", "/"+p, "entries", res.Total, "truncated", res.Truncated)
	return outcome{state: agentv1.JobSucceeded, result: &agentv1.JobResult{Browse: res}}
}

// browseResult is a listing in the protocol's shape, cut at MaxBrowseEntries.
func browseResult(p string, entries []files.Entry) *agentv1.BrowseResult {
	res := &agentv1.BrowseResult{Path: p, Total: len(entries), Entries: []agentv1.FileEntry{}}
	if len(entries) > agentv1.MaxBrowseEntries {
		entries, res.Truncated = entries[:agentv1.MaxBrowseEntries], true
	}
	for _, e := range entries {
		n := e.Node
		res.Entries = append(res.Entries, agentv1.FileEntry{Name: path.Base(e.Path), Type: n.Type, Size: n.Size, Mode: int(n.Mode & 0o7777),
			MTime: time.Unix(0, n.MTime).UTC(), Target: n.Target, Error: n.Error})
	}
	return res
}

// errUploadEnded stops a file's read when its upload ended first.
var errUploadEnded = errors.New("the upload ended")

// runFetch reads one regular file of a volume's copy and uploads it to the vault: refused before
// anything is read when it is over MaxFetchBytes, aborted when a blob fails its check.
func (a *agent) runFetch(ctx context.Context, j *jobRun, spec *agentv1.FetchJob) outcome {
	st, snap, err := a.openVolumeCopy(ctx, j, spec.VolumePath)
	if err != nil {
		return failed(nil, err)
	}
	p := cleanPath(spec.Path)
	node, err := st.StatFile(ctx, snap, p, agentv1.MaxFetchBytes)
	if errors.Is(err, files.ErrFileTooLarge) {
		return failed(nil, fmt.Errorf("%w: files over %s are not fetched through the vault; restore it with cairn files restore %s/%s/%s:%s DIR",
			err, humanize.Bytes(agentv1.MaxFetchBytes), spec.RecoveryPoint, spec.Namespace, spec.Claim, p))
	}
	if err != nil {
		return failed(nil, fmt.Errorf("fetch %s/%s:/%s in recovery point %s: %w", spec.Namespace, spec.Claim, p, spec.RecoveryPoint, err))
	}
	j.progress(0, 0, "reading and uploading "+humanize.Bytes(node.Size))
	pr, pw := io.Pipe()
	sum := sha256.New()
	read := make(chan error, 1)
	go func() {
		_, err := st.ReadFile(ctx, snap, p, io.MultiWriter(pw, sum), agentv1.MaxFetchBytes)
		_ = pw.CloseWithError(err) // nil: the upload sees the end of the file
		read <- err
	}()
	upErr := a.vault.UploadContent(ctx, j.job.ID, node.Size, pr)
	_ = pr.CloseWithError(errUploadEnded) // unblocks a read the upload left
	if rerr := <-read; rerr != nil && !errors.Is(rerr, errUploadEnded) {
		return failed(nil, fmt.Errorf("read %s/%s:/%s in recovery point %s: %w", spec.Namespace, spec.Claim, p, spec.RecoveryPoint, rerr))
	}
	if upErr != nil {
		return failed(nil, fmt.Errorf("upload %s to the vault: %w", p, upErr))
	}
	res := &agentv1.FetchResult{Path: p, Size: node.Size, SHA256: hex.EncodeToString(sum.Sum(nil))}
	j.progress(1, node.Size, "uploaded")
	j.log.Info("fetched a file of a volume's copy", "recoveryPoint", spec.RecoveryPoint, "namespace", spec.Namespace,
		"claim", spec.Claim, "path", "/"+p, "bytes", node.Size, "sha256", res.SHA256)
	return outcome{state: agentv1.JobSucceeded, result: &agentv1.JobResult{Fetch: res}}
}
